import assert from 'node:assert/strict';
import { test } from 'node:test';
import { latentChannels } from './latent-names.js';

test('x2: the nine detail bands, wavelet-major (IRN.md channel order)', () => {
  const z = latentChannels(2);
  assert.equal(z.length, 9);
  assert.deepEqual(
    z.map((c) => c.label),
    ['R · left − right', 'G · left − right', 'B · left − right', 'R · top − bottom', 'G · top − bottom', 'B · top − bottom', 'R · diagonal', 'G · diagonal', 'B · diagonal'],
  );
  assert.ok(z.every((c) => c.level === 1));
  assert.deepEqual(z.map((c) => c.index), [...Array(9).keys()]);
});

test('x4: 45 channels; the first 9 are the level-1 bands averaged at level 2, then level-2 bands of all 12 channels', () => {
  const z = latentChannels(4);
  assert.equal(z.length, 45);
  // Output channel 3 + i = k * 12 + c at level 2: i = 0..8 is k = 0, c = 3..11 (level-1 details).
  assert.equal(z[0].label, 'R · L1 left − right');
  assert.match(z[0].description, /averaged over 2x2 at level 2/);
  assert.equal(z[8].label, 'B · L1 diagonal');
  // i = 9: k = 1, c = 0: level-2 left-right band of the R low-pass.
  assert.equal(z[9].label, 'R · L2 left − right');
  assert.equal(z[9].level, 2);
  // i = 12: k = 1, c = 3: level-2 left-right of the level-1 R left-right band.
  assert.equal(z[12].label, 'L2 left − right of (R · L1 left − right)');
  assert.equal(z[12].colour, 'R');
  assert.equal(new Set(z.map((c) => c.label)).size, 45, 'labels are unique');
});

test('x8 has 189 channels; other scales are refused', () => {
  assert.equal(latentChannels(8).length, 189);
  assert.throws(() => latentChannels(3), /scale must be 2, 4 or 8/);
});
