import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { checkLimit, resolveLimits } from '@irn/core';
import { PlaygroundState } from './state.js';

// Every request the state makes is recorded and answered 404: nothing leaves the test.
let requests: string[] = [];
const realFetch = globalThis.fetch;
beforeEach(() => {
  requests = [];
  globalThis.fetch = (async (input: RequestInfo | URL) => {
    requests.push(String(input instanceof Request ? input.url : input));
    return new Response('not here', { status: 404 });
  }) as typeof fetch;
});
afterEach(() => {
  globalThis.fetch = realFetch;
});

const newState = () =>
  new PlaygroundState({ weightsUrl: 'http://127.0.0.1:9/weights/', wasmPaths: 'http://127.0.0.1:9/wasm/', workerUrl: 'http://127.0.0.1:9/w.js', rescalerWorkerUrl: 'http://127.0.0.1:9/r.js', latentsWorkerUrl: 'http://127.0.0.1:9/l.js' });

test('a model id from a shared link (?model=) names a shipped preset, a saved model or one in this page, never a URL to fetch', async () => {
  const state = newState();
  // The app makes `preset:<value>` of a ?model= value without a colon.
  for (const [id, expected] of [
    ['preset:https://evil.example/model.json', /^Error: no shipped model "https:\/\/evil\.example\/model\.json" \(there are irn-x2 and irn-x4\)$/],
    ['preset://evil.example/model.json', /^Error: no shipped model "\/\/evil\.example\/model\.json"/],
    ['preset:../weights/irn-x4/model.json', /^Error: no shipped model "\.\.\/weights\/irn-x4\/model\.json"/],
    ['preset:irn-x3', /^Error: no shipped model irn-x3 \(there are irn-x2 and irn-x4\)$/],
    ['preset:constructor', /^Error: no shipped model constructor/],
    ['saved:never-saved', /^Error: no model never-saved is saved in this browser$/],
    ['javascript:alert(1)', /^Error: no model "javascript:alert\(1\)"$/],
    ['memory:nothing', /^Error: no model "memory:nothing"$/],
  ] as const) {
    await assert.rejects(state.selectModel(id), expected, id);
    assert.deepEqual(requests, [], `${id}: nothing fetched`);
  }
  assert.equal(state.model, null);
  assert.equal(state.modelId, 'preset:irn-x2');
  // A shipped preset is still downloaded from the weights folder (404 here).
  await assert.rejects(state.selectModel('preset:irn-x2'));
  assert.deepEqual(requests, ['http://127.0.0.1:9/weights/manifest.json']);
});

test('the status and error lines show a very long or multi-line model id as one short line', async () => {
  const state = newState();
  const lines: string[] = [];
  state.addEventListener('change', () => lines.push(state.busy ?? state.error ?? ''));
  for (const id of [`preset:${'x'.repeat(100_000)}`, 'preset:a\nb\u2028c', `saved:${'\u00e9'.repeat(5000)}`]) {
    await assert.rejects(state.selectModel(id));
    for (const line of [...lines, state.error ?? '']) {
      assert.ok(line.length < 200, `${line.length} characters: ${line.slice(0, 80)}`);
      assert.doesNotMatch(line, /[\n\r\u2028\u2029]/);
    }
  }
  assert.match(state.error ?? '', /^loading the model "é{50,60}…" failed: no model "é{50,60}…" is saved in this browser$/);
});

test('model files with the name of a model already in this page are added next to it, not in its place', async () => {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  const { readFileSync } = await import('node:fs');
  const fixture = new URL('../../test/browser/fixtures/weights/irn-x2/', import.meta.url);
  const files = () => [new File([readFileSync(new URL('model.json', fixture))], 'model.json'), new File([readFileSync(new URL('group1-shard1of1.bin', fixture))], 'group1-shard1of1.bin')];
  const state = newState();
  await state.addModelFiles(files());
  const first = state.model!;
  await state.addModelFiles(files());
  await state.addModelFiles(files());
  assert.deepEqual([...state.memoryModels.keys()], ['uploaded', 'uploaded-2', 'uploaded-3']);
  assert.equal(state.modelId, 'memory:uploaded-3');
  assert.equal(state.memoryModels.get('uploaded'), first);
  // The first is still usable (not disposed).
  await state.selectModel('memory:uploaded');
  assert.equal(first.scale, 2);
  assert.ok(first.forward(tf.zeros([1, 8, 8, 3])).output.shape[3] === 12);
  for (const m of state.memoryModels.values()) m.dispose();
});

test("a limit's line names the playground's limit, not an option of the API the user cannot set", async () => {
  const state = newState();
  const over = () => checkLimit(resolveLimits({ pixels: 10 }), 'pixels', 20, 'the image (5x4)', 'pixels');
  await assert.rejects(state.run('opening big.jpg', async () => over()));
  assert.equal(state.error, "opening big.jpg failed: the image (5x4) is 20 pixels, above the limit of 10 pixels (the playground's limit)");
  await assert.rejects(state.run('opening x.png', async () => Promise.reject(new Error('not a PNG file'))));
  assert.equal(state.error, 'opening x.png failed: not a PNG file');
});

test('a task given up for newer work (an AbortError) leaves no error line and no done line', async () => {
  const state = newState();
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(state.run('computing the latents of a', async () => controller.signal.throwIfAborted(), () => 'Latents of a shown.'), { name: 'AbortError' });
  assert.equal(state.error, null);
  assert.equal(state.done, null);
  assert.equal(state.busy, null);
});
