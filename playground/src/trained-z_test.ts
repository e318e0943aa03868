import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { trainedZ } from './trained-z.js';

const root = new URL('../../', import.meta.url);
const metadataOf = (preset: string) => (JSON.parse(readFileSync(new URL(`weights/${preset}/model.json`, root), 'utf8')) as { userDefinedMetadata: unknown }).userDefinedMetadata;

test('the shipped presets open at temperature 0 and say why (their model.json has no z scale)', () => {
  for (const preset of ['irn-x2', 'irn-x4']) {
    const z = trainedZ({ metadata: metadataOf(preset), preset });
    assert.equal(z.temperature, 0);
    assert.equal(z.known, true);
    assert.match(z.note, new RegExp(`^Trained with z = 0 \\(weights/${preset}/PROVENANCE.md\\): higher temperatures add noise`));
  }
});

test('a z scale in the metadata or the source note wins over the preset', () => {
  assert.equal(trainedZ({ metadata: { irn: { zScale: 1 } }, preset: 'irn-x2' }).temperature, 1);
  assert.match(trainedZ({ metadata: { irn: { zScale: 1 } } }).note, /^Trained with z ~ N\(0, 1²\) \(its model.json says so\)/);
  const nested = 'fine-tuned in the browser (wasm) for 50 steps with z scale 0.5 from fine-tuned in the browser (webgl) for 9 steps with z scale 1 from a saved model';
  assert.deepEqual([trainedZ({ source: nested }).temperature, trainedZ({ source: nested }).known], [0.5, true]);
});

test('a playground fine-tune without a z scale in its note was trained with the default, 0', () => {
  const z = trainedZ({ source: 'fine-tuned in the browser (webgl) for 2 steps from a fresh x2 model (1 block, growth 4)' });
  assert.deepEqual([z.temperature, z.known], [0, true]);
});

test('nothing said, or nonsense: 0, marked as a guess', () => {
  for (const from of [{}, { source: 'converted from IRN_x2.pth' }, { metadata: { irn: { zScale: -1 } } }, { metadata: { irn: { zScale: 'one' } } }, { metadata: { irn: { zScale: 7 } } }, { source: 'z scale 9' }]) {
    const z = trainedZ(from);
    assert.deepEqual([z.temperature, z.known], [0, false], JSON.stringify(from));
    assert.match(z.note, /does not say which z/);
  }
});
