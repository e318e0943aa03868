// lrPresetFor: which preset an LR that a page codes itself should name, from the lossy notes
// of the presets (a weights manifest's entries, or @irn/weights's), and the notes that
// loadModelArtifacts hands back with a preset, from a weightsUrl folder and from the package.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as weightsPackage from '@irn/weights';
import { loadModelArtifacts, lrNotesFrom, lrPresetFor, type PresetLrNotes } from './model-loader.js';

const WEIGHTS = fileURLToPath(new URL('../../../../weights/', import.meta.url));

describe('lrPresetFor', () => {
  const presets: Record<string, PresetLrNotes> = {
    'irn-x2': {},
    'irn-x2-jpeg': { encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMax: 89 },
    'irn-x2-avif': { encoder: 'irn-x2', lrCodec: 'avif' },
    'irn-x2-avif-v2': { lrCodec: 'avif' },
    'irn-x4': {},
  };

  it('names a decoder of the encoder, codec and quality, else the encoder', () => {
    assert.equal(lrPresetFor(presets, 'irn-x2', 'jpeg', 0), 'irn-x2-jpeg');
    assert.equal(lrPresetFor(presets, 'irn-x2', 'jpeg', 89), 'irn-x2-jpeg');
    assert.equal(lrPresetFor(presets, 'irn-x2', 'jpeg', 89.5), 'irn-x2', 'above the decoder\'s highest quality');
    assert.equal(lrPresetFor(presets, 'irn-x2', 'jpeg', 90), 'irn-x2');
    assert.equal(lrPresetFor(presets, 'irn-x2', 'avif', 100), 'irn-x2-avif', 'a decoder with no highest quality is for every quality');
    assert.equal(lrPresetFor(presets, 'irn-x2', 'webp', 50), 'irn-x2', 'no WebP decoder');
    assert.equal(lrPresetFor(presets, 'irn-x4', 'jpeg', 50), 'irn-x4', 'no decoder of irn-x4');
    assert.equal(lrPresetFor(presets, 'irn-x2-avif-v2', 'avif', 50), 'irn-x2-avif-v2', 'an end-to-end preset restores its own LRs');
  });

  it('names the encoder for a lossless LR: PNG at any quality, any codec without one', () => {
    assert.equal(lrPresetFor(presets, 'irn-x2', 'png', 50), 'irn-x2');
    assert.equal(lrPresetFor(presets, 'irn-x2', 'jpeg'), 'irn-x2');
    assert.equal(lrPresetFor(presets, 'irn-x2', 'avif'), 'irn-x2');
  });

  it('prefers the narrowest decoder, then the last by name; skips malformed notes', () => {
    const more: Record<string, PresetLrNotes> = {
      ...presets,
      'irn-x2-jpeg-all': { encoder: 'irn-x2', lrCodec: 'jpeg' },
      'irn-x2-jpeg-low': { encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMax: 50 },
      'irn-x2-jpeg-low-v2': { encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMax: 50 },
      'irn-x2-jpeg-bad': { encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMax: 'high' as unknown as number },
      'irn-x2-jpeg-half': { encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMax: 60.5 },
    };
    assert.equal(lrPresetFor(more, 'irn-x2', 'jpeg', 40), 'irn-x2-jpeg-low-v2');
    assert.equal(lrPresetFor(more, 'irn-x2', 'jpeg', 70), 'irn-x2-jpeg');
    assert.equal(lrPresetFor(more, 'irn-x2', 'jpeg', 95), 'irn-x2-jpeg-all');
  });

  it('keeps to a decoder\'s lowest quality too (lrQualityMin), narrowest range first', () => {
    const ranged: Record<string, PresetLrNotes> = {
      ...presets,
      'irn-x2-jpeg-q90': { encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMin: 90, lrQualityMax: 97 },
      'irn-x2-jpeg-top': { encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMin: 98 },
      'irn-x2-jpeg-upside': { encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMin: 60, lrQualityMax: 50 },
      'irn-x2-jpeg-badmin': { encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMin: 'low' as unknown as number },
    };
    assert.equal(lrPresetFor(ranged, 'irn-x2', 'jpeg', 89), 'irn-x2-jpeg');
    assert.equal(lrPresetFor(ranged, 'irn-x2', 'jpeg', 89.5), 'irn-x2', 'between two ranges');
    assert.equal(lrPresetFor(ranged, 'irn-x2', 'jpeg', 90), 'irn-x2-jpeg-q90');
    assert.equal(lrPresetFor(ranged, 'irn-x2', 'jpeg', 97), 'irn-x2-jpeg-q90');
    assert.equal(lrPresetFor(ranged, 'irn-x2', 'jpeg', 98), 'irn-x2-jpeg-top', 'a minimum and no maximum: up to 100');
    assert.equal(lrPresetFor(ranged, 'irn-x2', 'jpeg', 100), 'irn-x2-jpeg-top');
    assert.equal(lrPresetFor(ranged, 'irn-x2', 'jpeg', 55), 'irn-x2-jpeg', 'a minimum above the maximum makes no decoder');
    // Overlapping ranges: the narrower wins, whichever bound makes it narrow.
    const overlap: Record<string, PresetLrNotes> = {
      'a-wide': { encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMin: 10, lrQualityMax: 95 },
      'b-high': { encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMin: 80 },
    };
    assert.equal(lrPresetFor(overlap, 'irn-x2', 'jpeg', 85), 'b-high');
    assert.equal(lrPresetFor(overlap, 'irn-x2', 'jpeg', 70), 'a-wide');
    assert.equal(lrPresetFor(overlap, 'irn-x2', 'jpeg', 5), 'irn-x2');
  });

  it('refuses a quality outside 0-100 in one line', () => {
    for (const q of [-1, 101, Number.NaN, '80' as unknown as number]) {
      assert.throws(() => lrPresetFor(presets, 'irn-x2', 'jpeg', q), /^RangeError: quality must be a number from 0 to 100, or undefined for a lossless LR; got \S+$/, String(q));
    }
  });

  it('with the shipped presets of @irn/weights: irn-x2-jpeg up to 89, irn-x2-jpeg-q90 from 90 to 97, irn-x4-jpeg up to 79, irn-x4-jpeg-q80 from 80 to 89, irn-x4-jpeg-q90 from 90 to 95, irn-x2-avif for AVIF', () => {
    const { presets: shipped } = weightsPackage;
    assert.equal(shipped['irn-x2-jpeg'].lrQualityMax, 89);
    assert.equal(lrPresetFor(shipped, 'irn-x4', 'jpeg', 79), 'irn-x4-jpeg');
    assert.equal(lrPresetFor(shipped, 'irn-x4', 'jpeg', 80), 'irn-x4-jpeg-q80');
    assert.equal(lrPresetFor(shipped, 'irn-x4', 'jpeg', 89), 'irn-x4-jpeg-q80');
    assert.deepEqual([shipped['irn-x4-jpeg-q90'].lrQualityMin, shipped['irn-x4-jpeg-q90'].lrQualityMax], [90, 95]);
    assert.equal(lrPresetFor(shipped, 'irn-x4', 'jpeg', 90), 'irn-x4-jpeg-q90');
    assert.equal(lrPresetFor(shipped, 'irn-x4', 'jpeg', 95), 'irn-x4-jpeg-q90');
    assert.equal(lrPresetFor(shipped, 'irn-x4', 'jpeg', 96), 'irn-x4');
    assert.equal(lrPresetFor(shipped, 'irn-x4-avif', 'avif', 50), 'irn-x4-avif');
    assert.equal(lrPresetFor(shipped, 'irn-x2', 'jpeg', 89), 'irn-x2-jpeg');
    assert.deepEqual([shipped['irn-x2-jpeg-q90'].lrQualityMin, shipped['irn-x2-jpeg-q90'].lrQualityMax], [90, 97]);
    assert.equal(lrPresetFor(shipped, 'irn-x2', 'jpeg', 90), 'irn-x2-jpeg-q90');
    assert.equal(lrPresetFor(shipped, 'irn-x2', 'jpeg', 97), 'irn-x2-jpeg-q90');
    assert.equal(lrPresetFor(shipped, 'irn-x2', 'jpeg', 98), 'irn-x2');
    assert.equal(lrPresetFor(shipped, 'irn-x2', 'avif', 60), 'irn-x2-avif');
    assert.equal(lrPresetFor(shipped, 'irn-x2', 'png'), 'irn-x2');
  });
});

describe('lrNotesFrom', () => {
  it('keeps the four notes an entry has, as they are, and nothing else of it', () => {
    const entry = { encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMax: 97, lrQualityMin: 90, files: ['model.json'], scale: 2, sha256: 'ab' };
    assert.deepEqual(lrNotesFrom(entry), { encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMax: 97, lrQualityMin: 90 });
    // Absent keys are left out (not listed as undefined); present ones kept even when malformed.
    assert.deepEqual(Object.keys(lrNotesFrom({ encoder: 'irn-x4', lrQualityMax: undefined })), ['encoder']);
    assert.deepEqual(lrNotesFrom({ lrQualityMax: 'high', lrCodec: null }), { lrQualityMax: 'high', lrCodec: null });
    assert.equal(lrPresetFor({ d: lrNotesFrom({ encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMax: 'high' }) }, 'irn-x2', 'jpeg', 50), 'irn-x2');
  });

  it('has no notes of what is not an object', () => {
    for (const entry of [null, undefined, 3, 'irn-x2', true]) assert.deepEqual(lrNotesFrom(entry), {}, String(entry));
  });
});

describe('loadModelArtifacts: the lossy notes of the presets beside the one loaded', () => {
  let server: Server;
  let origin = '';
  const requests: string[] = [];

  before(async () => {
    await tf.setBackend('cpu');
    // weights/ as a static folder (only what a preset load asks for: the manifest and irn-x2).
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      const path = (req.url ?? '').replace(/^\/w\//, '');
      if (!['manifest.json', 'irn-x2/model.json', 'irn-x2/group1-shard1of1.bin'].includes(path)) {
        res.statusCode = 404;
        res.end();
        return;
      }
      readFile(join(WEIGHTS, path)).then((b) => res.end(b), () => ((res.statusCode = 500), res.end()));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('from a weightsUrl folder: its manifest says which presets are decoders, and no other model is fetched', async () => {
    requests.length = 0;
    const loaded = await loadModelArtifacts('irn-x2', { weightsUrl: `${origin}/w/`, cache: 'none' });
    assert.deepEqual(requests.sort(), ['/w/irn-x2/group1-shard1of1.bin', '/w/irn-x2/model.json', '/w/manifest.json']);
    assert.deepEqual(loaded.presets?.['irn-x2-jpeg'], { encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMax: 89 });
    assert.deepEqual(loaded.presets?.['irn-x2'], {});
    assert.equal(lrPresetFor(loaded.presets ?? {}, 'irn-x2', 'jpeg', 75), 'irn-x2-jpeg');
  });

  it('from a package: its presets\' notes', async () => {
    const manifest = JSON.parse(await readFile(join(WEIGHTS, 'manifest.json'), 'utf8')) as Record<string, { version: string; files: Record<string, string> }>;
    const file = (f: string) => ({ url: `${origin}/w/irn-x2/${f}`, path: `dist/irn-x2/${f}`, sha256: manifest['irn-x2'].files[f] });
    const loaded = await loadModelArtifacts('irn-x2', {
      cdn: false,
      cache: 'none',
      weights: {
        packageName: '@irn/weights',
        version: '0.0.0-test',
        presets: {
          'irn-x2': { version: manifest['irn-x2'].version, scale: 2, files: { 'model.json': file('model.json'), 'group1-shard1of1.bin': file('group1-shard1of1.bin') } },
          'irn-x2-jpeg': { version: 'x', scale: 2, encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMax: 70, files: {} },
          'irn-x2-jpeg-q80': { version: 'y', scale: 2, encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMin: 80, lrQualityMax: 90, files: {} },
        },
      },
    });
    assert.deepEqual(loaded.presets?.['irn-x2-jpeg'], { encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMax: 70 });
    assert.deepEqual(loaded.presets?.['irn-x2-jpeg-q80'], { encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMax: 90, lrQualityMin: 80 });
    assert.equal(lrPresetFor(loaded.presets ?? {}, 'irn-x2', 'jpeg', 75), 'irn-x2');
    assert.equal(lrPresetFor(loaded.presets ?? {}, 'irn-x2', 'jpeg', 85), 'irn-x2-jpeg-q80');
  });

  it('a model.json URL has no presets beside it', async () => {
    const loaded = await loadModelArtifacts(`${origin}/w/irn-x2/model.json`, { cache: 'none' });
    assert.equal(loaded.presets, undefined);
  });
});
