import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import * as core from '../../packages/core/src/index.js';
import { IrnModel } from '../../packages/core/src/index.js';
import { assertClose, assertTrue, maxAbsDiff } from '../../packages/core/src/testing/expect.js';
import { perturbWeights } from '../../packages/core/src/testing/perturb.js';
import { useBrowserBackend } from './backend.js';

/** A fresh IRN model is the Haar transform, whose first 3 channels are the 2x2 box mean:
 *  equal up to float32 rounding of (a + b + c + d) / 4 with values in [0, 1]. */
const BOX_MEAN_TOL = 1e-6;
/** The same weights on the same backend must give the same numbers to float32 rounding. */
const SAME_TOL = 1e-5;
const DB_URL = 'indexeddb://irn-test';

describe('@irn/core in the browser (webgl)', () => {
  before(async () => {
    await useBrowserBackend('webgl');
  });

  after(async () => {
    // Leave no model behind in the profile, whatever happened above.
    await tf.io.removeModel(DB_URL).catch(() => undefined);
  });

  it('imports the browser entry (no Node-only modules)', () => {
    // The import above succeeding is most of the test: node:fs or node:path in the entry's
    // graph would have failed to load in the page.
    assertTrue(typeof core.IrnModel === 'function', 'IrnModel is not exported');
    assertTrue(typeof core.HaarDownsampling === 'function', 'HaarDownsampling is not exported');
    assertTrue(typeof core.downscaleImage === 'function', 'downscaleImage is not exported');
    assertTrue(!('fileSystem' in core), 'the Node file-system handler leaked into the browser entry');
  });

  it('a fresh x2 model downscales 16x16 to the 2x2 box mean', () => {
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4 });
    try {
      tf.tidy(() => {
        const x = tf.randomUniform([1, 16, 16, 3], 0, 1, 'float32', 21) as tf.Tensor4D;
        const { output } = model.forward(x);
        assertTrue(output.shape.join() === '1,8,8,12', `forward output shape [${output.shape.join(', ')}]`);
        const lr = tf.slice(output, [0, 0, 0, 0], [-1, -1, -1, 3]);
        assertClose(lr, tf.avgPool(x, 2, 2, 'valid'), BOX_MEAN_TOL, 'LR channels vs 2x2 box mean');
      });
    } finally {
      model.dispose();
    }
  });

  it(`saves to ${DB_URL} and loads back with the same outputs`, async () => {
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: 9 });
    // Non-trivial weights, so a load that dropped them (fresh, identity couplings) would show.
    perturbWeights(model.flow.weights, 23);
    let loaded: IrnModel | null = null;
    try {
      await model.save(DB_URL);
      const listed = await tf.io.listModels();
      assertTrue(DB_URL in listed, `${DB_URL} not listed after save: ${Object.keys(listed).join(', ')}`);
      loaded = await IrnModel.load(DB_URL);
      const copy = loaded;
      assertTrue(copy.config.scale === 2 && copy.config.blocks === 1 && copy.config.growth === 4, `config lost: ${JSON.stringify(copy.config)}`);
      tf.tidy(() => {
        const x = tf.randomUniform([1, 16, 16, 3], 0, 1, 'float32', 22) as tf.Tensor4D;
        const a = model.forward(x);
        const b = copy.forward(x);
        const fresh = IrnModel.create({ scale: 2, blocks: 1, growth: 4 });
        try {
          assertTrue(maxAbsDiff(a.output, fresh.forward(x).output) > 1e-3, 'weights were not perturbed');
        } finally {
          fresh.dispose();
        }
        assertClose(b.output, a.output, SAME_TOL, 'forward after IndexedDB round trip');
        assertClose(b.logDet, a.logDet, SAME_TOL, 'logDet after IndexedDB round trip');
        assertClose(copy.inverse(a.output).output, model.inverse(a.output).output, SAME_TOL, 'inverse after IndexedDB round trip');
      });
    } finally {
      model.dispose();
      loaded?.dispose();
    }
  });
});
