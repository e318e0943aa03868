import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { AffineCoupling } from '../layers/affine-coupling.js';
import { setFusedInference } from '../layers/dense-block.js';
import type { FlowResult, InvertibleLayer } from '../layers/flow.js';
import { HaarDownsampling } from '../layers/haar.js';
import { InvertibleSequence } from '../layers/sequence.js';
import { IrnModel } from '../model/irn.js';
import { assertClose, assertFinite, assertNoLeak, assertShape, assertTrue, maxAbsDiff } from './expect.js';
import { perturbWeights } from './perturb.js';

/**
 * The contract every invertible layer and whole model must keep (STYLE.md, "Tests that can
 * fail"), as plain async cases so the Node suite (cpu, wasm) and the browser suite (webgl,
 * webgpu) run the same checks on whatever backend is active.
 */
export interface ContractCase {
  name: string;
  run: () => Promise<void>;
}

/** Anything with forward and inverse passes and trainable weights. */
interface Flow {
  forward(x: tf.Tensor4D): FlowResult;
  inverse(y: tf.Tensor4D): FlowResult;
  weights: tfl.LayerVariable[];
  /** A copy made through serialization (config or model.json + weights). */
  roundTrip(): Promise<Flow>;
  dispose(): void;
}

interface Subject {
  name: string;
  inputShape: [number, number, number, number];
  outputShape: [number, number, number, number];
  /** Whether a perturbed instance must change its input (false for the fixed Haar transform). */
  mixes: boolean;
  create(): Flow;
}

/** Round trips in float32 through up to 27 coupling layers stay well inside this. */
const ROUND_TRIP_TOL = 1e-4;
/** Log-dets are sums over thousands of terms of size ~1; float32 sums are good to ~1e-3. */
const LOGDET_TOL = 2e-3;
/** Two runs of the same weights on the same backend must agree to float32 rounding. */
const SAME_TOL = 1e-5;

function layerFlow(layer: InvertibleLayer, inputShape: [number, number, number, number]): Flow {
  tf.tidy(() => {
    layer.forward(tf.zeros(inputShape) as tf.Tensor4D);
  });
  return {
    forward: (x) => layer.forward(x),
    inverse: (y) => layer.inverse(y),
    weights: layer.weights,
    async roundTrip() {
      const json = JSON.parse(JSON.stringify({ className: layer.getClassName(), config: layer.getConfig() }));
      const entry = tf.serialization.SerializationMap.getMap().classNameMap[json.className];
      assertTrue(entry != null, `${json.className} is not registered with tf.serialization`);
      const [cls, fromConfig] = entry;
      const copy = fromConfig(cls, json.config) as unknown as InvertibleLayer;
      const flow = layerFlow(copy, inputShape);
      copy.setWeights(layer.getWeights());
      return flow;
    },
    dispose: () => layer.dispose(),
  };
}

async function saveToMemory(save: (h: tf.io.IOHandler) => Promise<tf.io.SaveResult>): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | null = null;
  await save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  assertTrue(saved != null, 'nothing was saved');
  const a = saved as tf.io.ModelArtifacts;
  // Through JSON, as model.json would be.
  const viaJson = <T>(v: T): T => (v == null ? v : (JSON.parse(JSON.stringify(v)) as T));
  return { ...a, modelTopology: viaJson(a.modelTopology), userDefinedMetadata: viaJson(a.userDefinedMetadata) };
}

function modelFlow(model: IrnModel): Flow {
  return {
    forward: (x) => model.forward(x),
    inverse: (y) => model.inverse(y),
    weights: model.flow.weights,
    async roundTrip() {
      const artifacts = await saveToMemory((h) => model.save(h));
      const loaded = await IrnModel.load(tf.io.fromMemory(artifacts));
      assertTrue(loaded.config.scale === model.config.scale, 'scale lost in save/load');
      assertTrue(loaded.config.blocks === model.config.blocks, 'blocks lost in save/load');
      assertTrue(loaded.config.growth === model.config.growth, 'growth lost in save/load');
      return modelFlow(loaded);
    },
    dispose: () => model.dispose(),
  };
}

function sequenceFlow(): Flow {
  const seq = new InvertibleSequence();
  seq.add(new HaarDownsampling({ inputShape: [null, null, 3] as unknown as number[] }));
  seq.add(new AffineCoupling({ growth: 4, seed: 11 }));
  seq.add(new HaarDownsampling());
  seq.add(new AffineCoupling({ growth: 4, seed: 12 }));
  return {
    forward: (x) => seq.forward(x),
    inverse: (y) => seq.inverse(y),
    weights: seq.weights,
    async roundTrip() {
      const artifacts = await saveToMemory((h) => seq.save(h));
      const { loadLayersModel } = await import('@tensorflow/tfjs-layers');
      const loaded = await loadLayersModel(tf.io.fromMemory(artifacts));
      assertTrue(loaded instanceof InvertibleSequence, `loaded a ${loaded.getClassName()}, not an InvertibleSequence`);
      const s = loaded as InvertibleSequence;
      return { forward: (x) => s.forward(x), inverse: (y) => s.inverse(y), weights: s.weights, roundTrip: () => Promise.reject(new Error('once is enough')), dispose: () => s.dispose() };
    },
    dispose: () => seq.dispose(),
  };
}

/** The subjects: each invertible layer, a mixed sequence, and IRN x2, x4, x8 (small widths, so the cpu backend copes). */
export function subjects(): Subject[] {
  return [
    { name: 'HaarDownsampling', inputShape: [2, 6, 8, 3], outputShape: [2, 3, 4, 12], mixes: false, create: () => layerFlow(new HaarDownsampling(), [2, 6, 8, 3]) },
    { name: 'AffineCoupling(12 channels)', inputShape: [2, 5, 7, 12], outputShape: [2, 5, 7, 12], mixes: true, create: () => layerFlow(new AffineCoupling({ growth: 6, seed: 3 }), [2, 5, 7, 12]) },
    { name: 'AffineCoupling(48 channels, clamp 2)', inputShape: [1, 3, 4, 48], outputShape: [1, 3, 4, 48], mixes: true, create: () => layerFlow(new AffineCoupling({ growth: 4, clamp: 2, seed: 4 }), [1, 3, 4, 48]) },
    { name: 'InvertibleSequence(Haar, coupling, Haar, coupling)', inputShape: [2, 8, 8, 3], outputShape: [2, 2, 2, 48], mixes: true, create: sequenceFlow },
    { name: 'IRN x2', inputShape: [2, 8, 10, 3], outputShape: [2, 4, 5, 12], mixes: true, create: () => modelFlow(IrnModel.create({ scale: 2, blocks: 2, growth: 4, seed: 5 })) },
    { name: 'IRN x4', inputShape: [1, 16, 8, 3], outputShape: [1, 4, 2, 48], mixes: true, create: () => modelFlow(IrnModel.create({ scale: 4, blocks: 1, growth: 4, seed: 6 })) },
    { name: 'IRN x8', inputShape: [1, 16, 16, 3], outputShape: [1, 2, 2, 192], mixes: true, create: () => modelFlow(IrnModel.create({ scale: 8, blocks: 1, growth: 4, seed: 7 })) },
  ];
}

function input(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  return tf.randomUniform(shape, 0, 1, 'float32', seed) as tf.Tensor4D;
}

/** Creates a perturbed instance, runs `fn`, and disposes everything, checking for leaks. */
async function withFlow(subject: Subject, fn: (flow: Flow) => Promise<void> | void): Promise<void> {
  const flow = subject.create();
  try {
    perturbWeights(flow.weights, 17);
    await assertNoLeak(`${subject.name}`, () => fn(flow));
  } finally {
    flow.dispose();
  }
}

/** All contract cases, one per (subject, property). */
export function contractCases(): ContractCase[] {
  const cases: ContractCase[] = [];
  for (const s of subjects()) {
    const add = (what: string, fn: (flow: Flow) => Promise<void> | void) =>
      cases.push({ name: `${s.name}: ${what}`, run: () => withFlow(s, fn) });

    add('output shapes, logDet [B], finite values', (flow) => {
      tf.tidy(() => {
        const fwd = flow.forward(input(s.inputShape, 1));
        assertShape(fwd.output, s.outputShape, 'forward output');
        assertShape(fwd.logDet, [s.inputShape[0]], 'forward logDet');
        assertFinite(fwd.output, 'forward output');
        assertFinite(fwd.logDet, 'forward logDet');
        const inv = flow.inverse(tf.randomNormal(s.outputShape, 0, 1, 'float32', 2) as tf.Tensor4D);
        assertShape(inv.output, s.inputShape, 'inverse output');
        assertShape(inv.logDet, [s.inputShape[0]], 'inverse logDet');
        assertFinite(inv.output, 'inverse output');
      });
    });

    add('inverse(forward(x)) == x, and the perturbed map is not the identity', (flow) => {
      tf.tidy(() => {
        const x = input(s.inputShape, 3);
        const y = flow.forward(x).output;
        assertClose(flow.inverse(y).output, x, ROUND_TRIP_TOL, 'inverse(forward(x)) vs x');
        if (s.mixes) {
          // An unperturbed instance is the identity (couplings) or the plain Haar stack
          // (models): the perturbed one must differ from it, or the round trip proved nothing.
          const fresh = s.create();
          try {
            assertTrue(maxAbsDiff(y, fresh.forward(x).output) > 1e-3, 'forward output equals the unperturbed one: weights were not perturbed');
          } finally {
            fresh.dispose();
          }
        }
      });
    });

    add('forward(inverse(y)) == y', (flow) => {
      tf.tidy(() => {
        // Small y keeps exp(-s) products moderate; values like a real latent.
        const y = tf.mul(tf.randomNormal(s.outputShape, 0, 1, 'float32', 4), 0.5) as tf.Tensor4D;
        assertClose(flow.forward(flow.inverse(y).output).output, y, ROUND_TRIP_TOL, 'forward(inverse(y)) vs y');
      });
    });

    add('log-determinants of forward and inverse cancel', (flow) => {
      tf.tidy(() => {
        const x = input(s.inputShape, 5);
        const fwd = flow.forward(x);
        const inv = flow.inverse(fwd.output);
        assertClose(tf.add(fwd.logDet, inv.logDet), tf.zerosLike(fwd.logDet), LOGDET_TOL, 'forward + inverse logDet');
      });
    });

    add('serialization round trip gives the same outputs', async (flow) => {
      const copy = await flow.roundTrip();
      try {
        tf.tidy(() => {
          const x = input(s.inputShape, 6);
          const a = flow.forward(x);
          const b = copy.forward(x);
          assertClose(b.output, a.output, SAME_TOL, 'forward after round trip');
          assertClose(b.logDet, a.logDet, LOGDET_TOL, 'logDet after round trip');
          const y = a.output;
          assertClose(copy.inverse(y).output, flow.inverse(y).output, SAME_TOL, 'inverse after round trip');
        });
      } finally {
        copy.dispose();
      }
    });

    if (s.mixes) {
      add('inference with fused conv + bias + LeakyReLU equals the separate ops (forward and inverse)', (flow) => {
        tf.tidy(() => {
          const x = input(s.inputShape, 9);
          const y = tf.randomNormal(s.outputShape, 0, 1, 'float32', 10) as tf.Tensor4D;
          const fused = [flow.forward(x).output, flow.inverse(y).output];
          setFusedInference(false);
          try {
            const plain = [flow.forward(x).output, flow.inverse(y).output];
            assertClose(fused[0], plain[0], 1e-5, 'forward, fused vs separate ops');
            assertClose(fused[1], plain[1], 1e-4, 'inverse, fused vs separate ops');
          } finally {
            setFusedInference(true);
          }
        });
      });

      add('every trainable weight gets a finite, non-zero gradient through forward and inverse', (flow) => {
        const vars = flow.weights.map((w) => w.read() as tf.Variable);
        for (const dir of ['forward', 'inverse'] as const) {
          tf.tidy(() => {
            const x = dir === 'forward' ? input(s.inputShape, 7) : (tf.randomNormal(s.outputShape, 0, 0.5, 'float32', 8) as tf.Tensor4D);
            const { grads } = tf.variableGrads(() => {
              const r = dir === 'forward' ? flow.forward(x) : flow.inverse(x);
              return tf.add(tf.mean(tf.square(tf.sin(tf.mul(r.output, 3)))), tf.mean(r.logDet)) as tf.Scalar;
            }, vars);
            for (const v of vars) {
              const g = grads[v.name];
              assertTrue(g != null, `${dir}: no gradient for ${v.name}`);
              assertFinite(g, `${dir}: gradient of ${v.name}`);
              const norm = tf.sum(tf.abs(g)).dataSync()[0];
              assertTrue(norm > 0, `${dir}: gradient of ${v.name} is zero`);
            }
          });
        }
      });
    }
  }
  return cases;
}
