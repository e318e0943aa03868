import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { unzipSync, zipSync, type Zippable } from 'fflate';
import { TorchFormatError } from './errors.js';
import { readTorchStateDict } from './read-state-dict.js';
import type { TorchTensor } from './tensor.js';

// Fixtures and expected values come from
//   /usr/bin/python3 packages/core/scripts/make-torch-fixtures.py
// (torch 1.13); see packages/core/test-fixtures/torch/README.md.
const FIXTURES = new URL('../../../test-fixtures/torch/', import.meta.url);

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, FIXTURES)));
}

function json<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as T;
}

/** Asserts that `fn` throws a TorchFormatError whose message matches every pattern. */
function assertFormatError(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TorchFormatError, `expected TorchFormatError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

/** Rebuilds a zip (stored, like torch's) after `edit` changed its entries. */
function editZip(bytes: Uint8Array, edit: (files: Record<string, Uint8Array>) => void): Uint8Array {
  const files = unzipSync(bytes);
  edit(files);
  const zippable: Zippable = {};
  for (const [name, data] of Object.entries(files)) zippable[name] = [data, { level: 0 }];
  return zipSync(zippable);
}

function replaceAscii(data: Uint8Array, from: string, to: string): Uint8Array {
  const text = Buffer.from(data).toString('latin1');
  assert.ok(text.includes(from));
  return new Uint8Array(Buffer.from(text.replaceAll(from, to), 'latin1'));
}

/**
 * float16 keeps 11 significant bits: round to nearest is off by at most 2^-11 relative for
 * normals, and at most half the subnormal step 2^-24 in absolute terms.
 */
const HALF_RELATIVE = 2 ** -11;
const HALF_ABSOLUTE = 2 ** -25;

describe('readTorchStateDict', () => {
  const zip = readTorchStateDict(fixture('irn_x2.pth'));

  it('reads the zip format in key order with torch shapes', () => {
    assert.equal(zip.size, 61);
    const keys = [...zip.keys()];
    assert.equal(keys[0], 'operations.0.haar_weights');
    assert.equal(keys[1], 'operations.1.F.conv1.weight');
    assert.deepEqual(zip.get('operations.1.F.conv1.weight')?.shape, [8, 9, 3, 3]);
    assert.deepEqual(zip.get('operations.2.H.conv5.bias')?.shape, [9]);
    assert.equal(zip.get('operations.1.F.conv1.weight')?.dtype, 'float32');
  });

  it('gives identical tensors for the zip and legacy formats', () => {
    const legacy = readTorchStateDict(fixture('irn_x2_legacy.pth'));
    assert.deepEqual([...legacy.keys()], [...zip.keys()]);
    for (const [key, t] of zip) {
      const l = legacy.get(key) as TorchTensor;
      assert.deepEqual(l.shape, t.shape, key);
      assert.equal(l.dtype, t.dtype, key);
      assert.deepEqual(l.data, t.data, key);
    }
  });

  it('reads raw elements that torch reports (float32 and float16)', () => {
    const samples = json<Record<'float32' | 'float16', Array<{ key: string; index: number[]; value: number }>>>('irn_x2_samples.json');
    const half = readTorchStateDict(fixture('irn_x2_half.pth'));
    for (const [dict, list] of [[zip, samples.float32], [half, samples.float16]] as const) {
      for (const { key, index, value } of list) {
        const t = dict.get(key) as TorchTensor;
        let flat = 0;
        for (let d = 0; d < index.length; d++) flat = flat * t.shape[d] + index[d];
        assert.equal(t.data[flat], Math.fround(value), `${key}[${index.join(', ')}]`);
      }
    }
  });

  it('reads float16 checkpoints as float32 within float16 precision', () => {
    const half = readTorchStateDict(fixture('irn_x2_half.pth'));
    assert.deepEqual([...half.keys()], [...zip.keys()]);
    let differs = 0;
    for (const [key, t] of zip) {
      const h = half.get(key) as TorchTensor;
      assert.equal(h.dtype, 'float16');
      assert.deepEqual(h.shape, t.shape);
      for (let i = 0; i < t.data.length; i++) {
        const tol = Math.max(Math.abs(t.data[i]) * HALF_RELATIVE, HALF_ABSOLUTE);
        assert.ok(Math.abs(h.data[i] - t.data[i]) <= tol, `${key}[${i}]: ${h.data[i]} vs ${t.data[i]}`);
        if (h.data[i] !== t.data[i]) differs++;
      }
    }
    assert.ok(differs > 0, 'float16 values should have been rounded');
  });

  it('strips a leading "module." from every key', () => {
    const prefixed = readTorchStateDict(fixture('irn_x2_module.pth'));
    assert.deepEqual([...prefixed.keys()], [...zip.keys()]);
    assert.deepEqual(prefixed.get('operations.2.G.conv3.weight')?.data, zip.get('operations.2.G.conv3.weight')?.data);
  });

  it('applies storage offsets and strides and converts every float dtype (zip and legacy)', () => {
    interface Expected { shape: number[]; dtype: string; values: Array<number | null>; nonFinite: Record<string, string> }
    const expected = json<{ tensors: Record<string, Expected> }>('strided_expected.json').tensors;
    for (const file of ['strided.pth', 'strided_legacy.pth']) {
      const dict = readTorchStateDict(fixture(file));
      assert.deepEqual([...dict.keys()], Object.keys(expected), file);
      for (const [key, want] of Object.entries(expected)) {
        const t = dict.get(key) as TorchTensor;
        assert.deepEqual(t.shape, want.shape, `${file} ${key}`);
        assert.equal(t.dtype, want.dtype, `${file} ${key}`);
        const values = want.values.map((v, i) =>
          v === null ? (want.nonFinite[String(i)] === 'inf' ? Infinity : -Infinity) : Math.fround(v));
        assert.deepEqual(Array.from(t.data), values, `${file} ${key}`);
      }
    }
  });

  it('honours a big-endian byteorder entry', () => {
    const bytes = editZip(fixture('strided.pth'), (files) => {
      for (const name of Object.keys(files)) {
        if (!name.startsWith('strided/data/')) continue;
        // Storage byte lengths in strided.pth: 24 = 3 float64, 8 = 4 bfloat16, 16 = 8 float16;
        // the others are float32. Swap each element's bytes.
        const size = files[name].length === 3 * 8 ? 8 : [4 * 2, 8 * 2].includes(files[name].length) ? 2 : 4;
        const swapped = new Uint8Array(files[name].length);
        for (let i = 0; i < swapped.length; i += size) {
          for (let j = 0; j < size; j++) swapped[i + j] = files[name][i + size - 1 - j];
        }
        files[name] = swapped;
      }
      files['strided/byteorder'] = new TextEncoder().encode('big');
    });
    const little = readTorchStateDict(fixture('strided.pth'));
    const big = readTorchStateDict(bytes);
    for (const [key, t] of little) assert.deepEqual(big.get(key)?.data, t.data, key);
  });
});

describe('readTorchStateDict errors', () => {
  it('refuses a pickle that asks for os.system, without running it', () => {
    assertFormatError(
      () => readTorchStateDict(fixture('forbidden_os_system.pth')),
      /^checkpoint refused: the pickle asks for the global "os\.system", which a state_dict never needs$/,
    );
  });

  it('rejects a truncated zip', () => {
    assertFormatError(
      () => readTorchStateDict(fixture('irn_x2_half_truncated.pth')),
      /zip archive is truncated or corrupt: no end-of-central-directory record/,
      /62002 bytes/,
    );
  });

  it('rejects a zip whose entries were cut although its directory survived', () => {
    const whole = fixture('strided.pth');
    // Drop bytes from the middle: the central directory is intact but points past the data.
    const cut = new Uint8Array(whole.length - 300);
    cut.set(whole.subarray(0, 600));
    cut.set(whole.subarray(900), 600);
    assertFormatError(
      () => readTorchStateDict(cut),
      /^zip archive is corrupt: its central directory \(bytes \d+\.\.\d+\) overlaps its end record at byte \d+$/,
    );
  });

  it('rejects a legacy file truncated in a storage or in the pickle', () => {
    const whole = fixture('irn_x2_legacy.pth');
    assertFormatError(
      () => readTorchStateDict(whole.subarray(0, whole.length - 5)),
      /legacy checkpoint is truncated: storage "\d+" needs bytes \d+\.\.\d+ but the file has \d+/,
    );
    assertFormatError(
      () => readTorchStateDict(whole.subarray(0, whole.length / 2)),
      /legacy checkpoint is truncated/,
    );
    assertFormatError(
      () => readTorchStateDict(whole.subarray(0, 400)),
      /^legacy object pickle: truncated: .* \(at byte \d+\)$/,
    );
  });

  it('rejects a zip that lacks a storage entry', () => {
    const bytes = editZip(fixture('irn_x2.pth'), (files) => {
      delete files['irn_x2/data/3'];
    });
    assertFormatError(() => readTorchStateDict(bytes), /zip archive lacks entry "irn_x2\/data\/3", the data of storage "3"/);
  });

  it('rejects files that are neither zip nor pickle, naming what they look like', () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4, 5]);
    assertFormatError(
      () => readTorchStateDict(png),
      /^not a PyTorch checkpoint: neither a zip archive nor a pickle \(starts with 89 50 4e 47 0d 0a 1a 0a, looks like a PNG image\)$/,
    );
    assertFormatError(() => readTorchStateDict(new Uint8Array(0)), /not a PyTorch checkpoint: the file is empty/);
    assertFormatError(() => readTorchStateDict(Uint8Array.from([0x12, 0x34])), /starts with 12 34\)$/);
  });

  it('rejects a pickle without torch\'s magic number', () => {
    assertFormatError(
      () => readTorchStateDict(Uint8Array.from([0x80, 0x02, 0x4b, 0x01, 0x2e])),
      /a pickle but not a torch\.save checkpoint/,
    );
  });

  it('rejects zips that are not torch.save archives', () => {
    const other = zipSync({ 'notes.txt': new TextEncoder().encode('hello') });
    assertFormatError(() => readTorchStateDict(other), /no "<name>\/data\.pkl" entry.*"notes\.txt"/);
    const script = zipSync({ 'm/constants.pkl': new Uint8Array(2), 'm/code/m.py': new Uint8Array(2) });
    assertFormatError(() => readTorchStateDict(script), /TorchScript module/);
  });

  it('rejects non-float tensors, naming the key', () => {
    const bytes = editZip(fixture('strided.pth'), (files) => {
      files['strided/data.pkl'] = replaceAscii(files['strided/data.pkl'], 'torch\nFloatStorage', 'torch\nIntStorage');
    });
    assertFormatError(
      () => readTorchStateDict(bytes),
      /tensor "base" is stored as torch\.IntStorage \(int32\); only float32, float16, bfloat16 and float64/,
    );
  });

  it('throws only TorchFormatError on cut or damaged files', () => {
    /** Deterministic LCG so that a failure is reproducible. */
    let seed = 12345;
    const random = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const check = (bytes: Uint8Array, what: string): void => {
      try {
        readTorchStateDict(bytes);
      } catch (e) {
        assert.ok(e instanceof TorchFormatError, `${what}: ${String(e)}`);
      }
    };
    for (const file of ['strided.pth', 'strided_legacy.pth']) {
      const whole = fixture(file);
      for (let n = 0; n < whole.length; n++) {
        assert.throws(() => readTorchStateDict(whole.subarray(0, n)), TorchFormatError, `${file} cut at ${n}`);
      }
      for (let t = 0; t < 500; t++) {
        const damaged = whole.slice();
        for (let j = 0; j < 3; j++) damaged[Math.floor(random() * damaged.length)] = Math.floor(random() * 256);
        check(damaged, `${file} damage ${t}`);
      }
    }
  });

  it('rejects a storage entry shorter than its storage', () => {
    // Cut the data entry of the first FloatStorage ("base", 12 floats) to 20 bytes.
    const bytes = editZip(fixture('strided.pth'), (files) => {
      const pkl = Buffer.from(files['strided/data.pkl']).toString('latin1');
      const key = /X\x01\x00\x00\x00(\d)/.exec(pkl.slice(pkl.indexOf('FloatStorage')))?.[1];
      assert.ok(key !== undefined);
      files[`strided/data/${key}`] = files[`strided/data/${key}`].subarray(0, 20);
    });
    assertFormatError(() => readTorchStateDict(bytes), /zip entry "strided\/data\/\d" has 20 bytes; its storage needs 48/);
  });
});
