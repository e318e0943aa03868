import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { TorchFormatError } from './errors.js';
import { importIrnCheckpoint, importIrnStateDict, type ImportedIrn } from './irn-checkpoint.js';
import { readTorchStateDict } from './read-state-dict.js';
import type { TorchTensor } from './tensor.js';

// Fixtures and sample values come from
//   /usr/bin/python3 packages/core/scripts/make-torch-fixtures.py
// (torch 1.13): irn_x2 = 1 level, 2 blocks, growth 8; irn_x4 = 2 levels, 1 block, growth 4.
const FIXTURES = new URL('../../../test-fixtures/torch/', import.meta.url);

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, FIXTURES)));
}

interface Sample { key: string; index: number[]; value: number }

function samples(name: string): Sample[] {
  return (JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as { float32: Sample[] }).float32;
}

function assertFormatError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TorchFormatError, `expected TorchFormatError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

/** A copy of the x2 state_dict after `edit`. */
function editedX2(edit: (dict: Map<string, TorchTensor>) => void): Map<string, TorchTensor> {
  const dict = new Map(readTorchStateDict(fixture('irn_x2.pth')));
  edit(dict);
  return dict;
}

function tensor(shape: number[]): TorchTensor {
  return { shape, dtype: 'float32', data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
}

function kernelShapes(irn: ImportedIrn, coupling: number, net: 'F' | 'G' | 'H'): number[][] {
  return irn.couplings[coupling][net].convs.map((c) => c.kernelShape);
}

describe('importIrnCheckpoint', () => {
  it('infers x2, 2 blocks, growth 8 and the channel counts of IRN.md', () => {
    const irn = importIrnCheckpoint(fixture('irn_x2.pth'));
    assert.equal(irn.scale, 2);
    assert.equal(irn.levels, 1);
    assert.equal(irn.blocks, 2);
    assert.equal(irn.growth, 8);
    assert.equal(irn.couplings.length, 2);
    // C = 12: F maps 9 -> 3, G and H map 3 -> 9; conv k takes in + (k - 1) * 8.
    assert.deepEqual(kernelShapes(irn, 1, 'F'), [[3, 3, 9, 8], [3, 3, 17, 8], [3, 3, 25, 8], [3, 3, 33, 8], [3, 3, 41, 3]]);
    assert.deepEqual(kernelShapes(irn, 0, 'G'), [[3, 3, 3, 8], [3, 3, 11, 8], [3, 3, 19, 8], [3, 3, 27, 8], [3, 3, 35, 9]]);
    assert.equal(irn.couplings[0].H.convs[4].bias.length, 9);
  });

  it('infers x4, 1 block per level, growth 4', () => {
    const irn = importIrnCheckpoint(fixture('irn_x4.pth'));
    assert.deepEqual([irn.scale, irn.levels, irn.blocks, irn.growth, irn.couplings.length], [4, 2, 1, 4, 2]);
    // Level 1 has C = 48: F maps 45 -> 3, G and H map 3 -> 45.
    assert.deepEqual(kernelShapes(irn, 1, 'F')[0], [3, 3, 45, 4]);
    assert.deepEqual(kernelShapes(irn, 1, 'F')[4], [3, 3, 61, 3]);
    assert.deepEqual(kernelShapes(irn, 1, 'H')[4], [3, 3, 19, 45]);
    assert.deepEqual(kernelShapes(irn, 0, 'G')[4], [3, 3, 19, 9]);
  });

  it('gives the same weights from the legacy, module-prefixed and zip files', () => {
    const zip = importIrnCheckpoint(fixture('irn_x2.pth'));
    assert.deepEqual(importIrnCheckpoint(fixture('irn_x2_legacy.pth')), zip);
    assert.deepEqual(importIrnCheckpoint(fixture('irn_x2_module.pth')), zip);
    const half = importIrnCheckpoint(fixture('irn_x2_half.pth'));
    assert.deepEqual([half.scale, half.blocks, half.growth], [2, 2, 8]);
  });

  it('puts torch element (o, i, y, x) at tfjs [y, x, i, o] in every conv', () => {
    for (const file of ['irn_x2.pth', 'irn_x4.pth']) {
      const dict = readTorchStateDict(fixture(file));
      const irn = importIrnStateDict(dict);
      irn.couplings.forEach((coupling, n) => {
        const level = Math.floor(n / irn.blocks);
        const op = level * (irn.blocks + 1) + 1 + (n % irn.blocks);
        for (const net of ['F', 'G', 'H'] as const) {
          coupling[net].convs.forEach((conv, k) => {
            const weight = dict.get(`operations.${op}.${net}.conv${k + 1}.weight`) as TorchTensor;
            const [out, inC] = weight.shape;
            assert.deepEqual(conv.kernelShape, [3, 3, inC, out]);
            for (let o = 0; o < out; o++) {
              for (let i = 0; i < inC; i++) {
                for (let p = 0; p < 9; p++) {
                  assert.equal(conv.kernel[(p * inC + i) * out + o], weight.data[(o * inC + i) * 9 + p]);
                }
              }
            }
            assert.deepEqual(conv.bias, dict.get(`operations.${op}.${net}.conv${k + 1}.bias`)?.data);
          });
        }
      });
    }
  });

  it('matches raw values torch reported at (out, in, kh, kw)', () => {
    for (const [file, json] of [['irn_x2.pth', 'irn_x2_samples.json'], ['irn_x4.pth', 'irn_x4_samples.json']]) {
      const irn = importIrnCheckpoint(fixture(file));
      for (const { key, index, value } of samples(json)) {
        const m = /^operations\.(\d+)\.([FGH])\.conv(\d)\.(weight|bias)$/.exec(key);
        if (m === null) continue; // haar_weights are checked, not returned
        const op = Number(m[1]);
        const level = Math.floor(op / (irn.blocks + 1));
        const conv = irn.couplings[level * irn.blocks + (op % (irn.blocks + 1)) - 1][m[2] as 'F' | 'G' | 'H'].convs[Number(m[3]) - 1];
        const [, , inC, out] = conv.kernelShape;
        const actual = m[4] === 'bias'
          ? conv.bias[index[0]]
          : conv.kernel[((index[2] * 3 + index[3]) * inC + index[1]) * out + index[0]];
        assert.equal(actual, Math.fround(value), `${file} ${key}[${index.join(', ')}]`);
      }
    }
  });
});

describe('importIrnStateDict errors', () => {
  it('says "not an IRN checkpoint" without operations keys', () => {
    assertFormatError(
      () => importIrnCheckpoint(fixture('strided.pth')),
      /^not an IRN checkpoint: no "operations\.\*" keys \(it has "base", "transposed", "rows", "column", "double", \.\.\. \(9 in all\)\)$/,
    );
    assertFormatError(() => importIrnStateDict(new Map()), /not an IRN checkpoint: no "operations\.\*" keys \(it is empty\)/);
  });

  it('names unexpected keys', () => {
    const dict = editedX2((d) => {
      d.set('operations.1.F.conv6.weight', tensor([8, 49, 3, 3]));
      d.set('epoch', tensor([]));
    });
    assertFormatError(
      () => importIrnStateDict(dict),
      /^unexpected keys for an IRN x2 with 2 blocks per level: "operations\.1\.F\.conv6\.weight", "epoch"$/,
    );
  });

  it('names the first missing keys', () => {
    const dict = editedX2((d) => {
      d.delete('operations.1.G.conv2.bias');
      d.delete('operations.2.H.conv5.weight');
    });
    assertFormatError(
      () => importIrnStateDict(dict),
      /^missing keys for an IRN x2 with 2 blocks per level: "operations\.1\.G\.conv2\.bias", "operations\.2\.H\.conv5\.weight"$/,
    );
  });

  it('names the key and both shapes when a shape is wrong', () => {
    const dict = editedX2((d) => d.set('operations.2.G.conv2.weight', tensor([8, 10, 3, 3])));
    assertFormatError(
      () => importIrnStateDict(dict),
      /^operations\.2\.G\.conv2\.weight has shape \[8, 10, 3, 3\]; expected \[8, 11, 3, 3\] \(IRN x2 with 2 blocks per level, growth 8, level 0 \(12 channels\), G: conv2 maps 3 \+ 1 \* 8 -> 8\)$/,
    );
    const bias = editedX2((d) => d.set('operations.1.F.conv5.bias', tensor([4])));
    assertFormatError(() => importIrnStateDict(bias), /^operations\.1\.F\.conv5\.bias has shape \[4\]; expected \[3\]/);
  });

  it('checks the Haar kernels value by value', () => {
    const dict = editedX2((d) => {
      const haar = d.get('operations.0.haar_weights') as TorchTensor;
      const data = Float32Array.from(haar.data);
      data[(4 * 1 + 2) * 4 + 2] = 1; // channel 1, kernel 2 (top minus bottom), row 1, col 0
      d.set('operations.0.haar_weights', { ...haar, data });
    });
    assertFormatError(
      () => importIrnStateDict(dict),
      /^operations\.0\.haar_weights\[6, 0, 1, 0\] is 1; expected -1 \(the fixed Haar kernel 2 of channel 1\)$/,
    );
    const shape = editedX2((d) => d.set('operations.0.haar_weights', tensor([12, 1, 4])));
    assertFormatError(() => importIrnStateDict(shape), /^operations\.0\.haar_weights has shape \[12, 1, 4\]; expected \[12, 1, 2, 2\]/);
  });

  it('rejects Haar levels in the wrong places', () => {
    // Haar at 0 and 2 means 1 block per level, so a third level belongs at 4, not 5.
    const dict = new Map(readTorchStateDict(fixture('irn_x4.pth')));
    dict.set('operations.5.haar_weights', tensor([192, 1, 2, 2]));
    assertFormatError(
      () => importIrnStateDict(dict),
      /^IRN checkpoint has haar_weights at operations 0, 2, 5; expected 0, 2, 4 \(a Haar level first, then the same number of blocks per level\)$/,
    );
  });

  it('lists missing keys without generating every key of a crafted block count', () => {
    // One key claims block 10^12: the layout needs 3 * 10^13 keys, which are never all made.
    const dict = editedX2((d) => d.set('operations.1000000000000.F.conv1.weight', tensor([8, 9, 3, 3])));
    const start = performance.now();
    assertFormatError(
      () => importIrnStateDict(dict),
      /^missing keys for an IRN x2 with 1000000000000 blocks per level: "operations\.3\.F\.conv1\.weight", .* \(29999999999939 in all\)$/,
    );
    const only = new Map([
      ['operations.0.haar_weights', tensor([12, 1, 2, 2])],
      ['operations.1000000000000.F.conv1.weight', tensor([8, 9, 3, 3])],
    ]);
    assertFormatError(
      () => importIrnStateDict(only),
      /^missing keys for an IRN x2 with 1000000000000 blocks per level: "operations\.1\.F\.conv1\.weight", .* \(29999999999999 in all\)$/,
    );
    assert.ok(performance.now() - start < 1000);
  });

  it('refuses NaN weights in a state_dict, naming the key and the index', () => {
    const dict = editedX2((d) => {
      const t = d.get('operations.2.H.conv5.bias') as TorchTensor;
      const data = Float32Array.from(t.data);
      data[4] = NaN;
      d.set('operations.2.H.conv5.bias', { ...t, data });
    });
    assertFormatError(() => importIrnStateDict(dict), /^checkpoint tensor operations\.2\.H\.conv5\.bias holds NaN at index 4; a usable model has finite weights$/);
  });

  it('rejects a checkpoint cut short, then an unrelated file, with format errors', () => {
    const whole = fixture('irn_x4.pth');
    assertFormatError(() => importIrnCheckpoint(whole.subarray(0, 1000)), /zip archive is truncated/);
    assertFormatError(() => importIrnCheckpoint(fixture('forbidden_os_system.pth')), /"os\.system"/);
  });
});
