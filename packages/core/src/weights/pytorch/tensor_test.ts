import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TorchFormatError } from './errors.js';
import { materialise, StorageRef, StorageRoot, TensorRef } from './tensor.js';

/** A float32 storage holding 0, 1, 2, ... */
function floatRoot(numel: number): StorageRoot {
  const root = new StorageRoot('0', 'FloatStorage', numel);
  root.bytes = new Uint8Array(Float32Array.from({ length: numel }, (_, i) => i).buffer);
  return root;
}

describe('materialise', () => {
  it('gathers a non-contiguous view in row-major order', () => {
    const root = floatRoot(12);
    // A (3, 4) tensor transposed and offset by one column: shape (3, 3), stride (1, 4).
    const t = materialise(new TensorRef(new StorageRef(root, 0, 12), 1, [3, 3], [1, 4]), 't');
    assert.deepEqual(Array.from(t.data), [1, 5, 9, 2, 6, 10, 3, 7, 11]);
  });

  it('reads legacy storage views at their element offset', () => {
    const t = materialise(new TensorRef(new StorageRef(floatRoot(12), 8, 4), 1, [3], [1]), 'v');
    assert.deepEqual(Array.from(t.data), [9, 10, 11]);
  });

  it('refuses a tensor that reaches past its storage', () => {
    assert.throws(
      () => materialise(new TensorRef(new StorageRef(floatRoot(4), 0, 4), 0, [2, 3], [3, 1]), 'w'),
      (e: unknown) => e instanceof TorchFormatError
        && e.message === 'tensor "w" (shape [2, 3], stride [3, 1], offset 0) reaches element 5 of a storage of 4',
    );
  });

  it('names the key when a storage has no data', () => {
    const root = new StorageRoot('7', 'FloatStorage', 4);
    assert.throws(
      () => materialise(new TensorRef(new StorageRef(root, 0, 4), 0, [4], [1]), 'b'),
      /tensor "b": the data of storage "7" is missing from the file/,
    );
  });
});
