import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadFromFiles } from './engine.js';
import { MAX_MODEL_JSON_BYTES, readModelFiles } from './model-files.js';

// The tiny test model (x2, 1 block, growth 4), as a user would pick it.
const fixture = new URL('../../test/browser/fixtures/weights/irn-x2/', import.meta.url);
const jsonText = readFileSync(new URL('model.json', fixture), 'utf8');
const binBytes = readFileSync(new URL('group1-shard1of1.bin', fixture));
const modelJson = () => JSON.parse(jsonText) as { weightsManifest: { paths: string[]; weights: { shape: number[] }[] }[]; userDefinedMetadata: { irn: Record<string, unknown> } };
const jsonFile = (content: string | object, name = 'model.json') => new File([typeof content === 'string' ? content : JSON.stringify(content)], name);
const bin = (bytes: Uint8Array = binBytes, name = 'group1-shard1of1.bin') => new File([bytes as Uint8Array<ArrayBuffer>], name);
/** A file that is only a name and a size: reading it fails the test (it must be refused before). */
const unread = (name: string, size: number) =>
  ({ name, size, text: () => assert.fail(`${name} was read`), arrayBuffer: () => assert.fail(`${name} was read`) }) as unknown as File;

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

test('model files: the picked model.json and .bin load, with the metadata and a name for the menu', async () => {
  const { model, name, metadata } = await loadFromFiles([bin(), jsonFile(jsonText)]);
  assert.deepEqual([model.scale, model.config.blocks, model.config.growth, name], [2, 1, 4, 'uploaded']);
  assert.deepEqual((metadata as { irn: { scale: number } }).irn.scale, 2);
  model.dispose();
  assert.equal((await readModelFiles([jsonFile(jsonText, 'my-x2.json'), bin()])).name, 'my-x2');
});

test("model files from a stranger are refused with one line naming what is wrong (tfjs's browserFiles never settled on a model.json that is not JSON)", async () => {
  const refused = async (files: File[], expected: RegExp) => {
    const e = await loadFromFiles(files).then(
      () => assert.fail(`accepted, expected ${expected}`),
      (err: unknown) => err as Error,
    );
    assert.match(e.message, expected);
    assert.doesNotMatch(e.message, /\n/, 'one line');
  };
  await refused([jsonFile('<!doctype html><p>not found'), bin()], /^"model\.json" is not JSON \(/);
  await refused([jsonFile(''), bin()], /^"model\.json" is not JSON/);
  await refused([jsonFile('null'), bin()], /^"model\.json" is not a TensorFlow\.js model\.json/);
  await refused([jsonFile({ modelTopology: {}, weightsManifest: [{ paths: 'x.bin', weights: [] }] }), bin()], /weightsManifest\[0\] is not a group/);
  await refused([jsonFile(jsonText), jsonFile(jsonText, 'other.json'), bin()], /^pick one model\.json with its weight files, not 2 \.json files/);
  await refused([jsonFile(jsonText)], /^pick the weight files \(\.bin\) that "model\.json" names/);
  await refused([bin()], /^pick the model\.json together with its weight files/);
  // Shards that were not given, or given besides the ones it names.
  await refused([jsonFile(jsonText), bin(binBytes, 'weights.bin')], /^"model\.json" names the weight file "group1-shard1of1\.bin", which was not picked with it$/);
  await refused([jsonFile(jsonText), bin(), bin(binBytes, 'group1-shard2of2.bin')], /^"group1-shard2of2\.bin" is not one of the weight files "model\.json" names \("group1-shard1of1\.bin"\)$/);
  const twice = modelJson();
  twice.weightsManifest.push({ paths: ['sub/group1-shard1of1.bin'], weights: [] });
  await refused([jsonFile(twice), bin()], /names one weight file twice/);
  // A .bin of the wrong size, either way (core's check of the bytes against the specs).
  await refused([jsonFile(jsonText), bin(binBytes.subarray(0, binBytes.length - 4))], /the model's weights hold 34292 bytes, its model\.json describes 34296/);
  await refused([jsonFile(jsonText), bin(new Uint8Array(binBytes.length + 1))], /hold 34297 bytes, its model\.json describes 34296/);
  // Sizes are checked before anything is read.
  await refused([unread('model.json', MAX_MODEL_JSON_BYTES + 1), bin()], /^"model\.json" is 4194305 bytes; a model\.json has at most 4194304$/);
  await refused([jsonFile(jsonText), unread('group1-shard1of1.bin', 2 ** 33)], /^the weight files are 8589934592 bytes together; a model may have at most 134217728$/);
  // Absurd shapes and 'irn' metadata (core's checks).
  const huge = modelJson();
  huge.weightsManifest[0].weights[0].shape = [1e9, 1e9, 9, 4];
  await refused([jsonFile(huge), bin()], /limit/);
  for (const [key, bad] of [['scale', 0], ['scale', 3], ['scale', 1e9], ['blocks', -1], ['blocks', 0.5], ['growth', 'x']] as const) {
    const m = modelJson();
    m.userDefinedMetadata.irn[key] = bad;
    await refused([jsonFile(m), bin()], new RegExp(key));
  }
  // A very long shard name is shown cut to one short line.
  const long = modelJson();
  long.weightsManifest[0].paths = ['x'.repeat(100_000)];
  const e = await readModelFiles([jsonFile(long), bin()]).catch((err: unknown) => err as Error);
  assert.ok(e instanceof Error && e.message.length < 300, String(e));
});
