import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bfloat16ToFloat, halfToFloat } from './half.js';

describe('halfToFloat', () => {
  it('converts normals, subnormals, zeros, infinities and NaN exactly', () => {
    // Bit patterns from numpy: np.array([...], np.float16).view(np.uint16).
    assert.equal(halfToFloat(0x3c00), 1);
    assert.equal(halfToFloat(0xc000), -2);
    assert.equal(halfToFloat(0x3555), 0.333251953125);
    assert.equal(halfToFloat(0x7bff), 65504);
    assert.equal(halfToFloat(0x0400), 2 ** -14);
    assert.equal(halfToFloat(0x0001), 2 ** -24);
    assert.equal(halfToFloat(0x03ff), 1023 * 2 ** -24);
    assert.ok(Object.is(halfToFloat(0x0000), 0));
    assert.ok(Object.is(halfToFloat(0x8000), -0));
    assert.equal(halfToFloat(0x7c00), Infinity);
    assert.equal(halfToFloat(0xfc00), -Infinity);
    assert.ok(Number.isNaN(halfToFloat(0x7e00)));
  });
});

describe('bfloat16ToFloat', () => {
  it('takes the bits as the upper half of a float32', () => {
    assert.equal(bfloat16ToFloat(0x3fc0), 1.5);
    assert.equal(bfloat16ToFloat(0xc010), -2.25);
    assert.equal(bfloat16ToFloat(0x7f80), Infinity);
    assert.ok(Object.is(bfloat16ToFloat(0x8000), -0));
  });
});
