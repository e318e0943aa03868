// bench:rd's cache (bench/rd/cache.ts): one file per photo, scale and method under its own
// key, and the first version's files (one per photo and scale) read and copied per method.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { legacyKey, legacyModelFingerprint, modelBytes, modelHash, RdCache, settingsKey } from '../../bench/rd/cache.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'rd-cache-'));
const pts = (method: string, q: number) => [{ method, quality: q, bytes: 100 + q, psnrY: 30, ssimY: 0.9 }];
const onlyOf = (method: string) => (old: { points: { method: string }[] }) => {
  const p = old.points.filter((x) => x.method === method);
  return p.length > 0 ? p : null;
};

test('put/get: a method is found under its own key and photo only', () => {
  const dir = tmp();
  try {
    const c = new RdCache(dir);
    c.put('kodim01', 'h1', 2, 'irn-jpeg+d', 'k1', pts('irn-jpeg+d', 30), 12.5);
    assert.ok(existsSync(join(dir, 'kodim01.x2', 'irn-jpeg+d.json')));
    assert.deepEqual(c.get('kodim01', 'h1', 2, 'irn-jpeg+d', 'k1', () => null), { value: pts('irn-jpeg+d', 30), seconds: 12.5, from: 'cache' });
    assert.equal(c.get('kodim01', 'h1', 2, 'irn-jpeg+d', 'k2', () => null), null, 'another key');
    assert.equal(c.get('kodim01', 'h2', 2, 'irn-jpeg+d', 'k1', () => null), null, 'another photo under the same name');
    assert.equal(c.get('kodim01', 'h1', 4, 'irn-jpeg+d', 'k1', () => null), null, 'another scale');
    assert.equal(c.get('kodim01', 'h1', 2, 'irn-webp+d', 'k3', () => null), null, 'another method (its own key)');
    // A damaged file is a miss, not a crash.
    writeFileSync(join(dir, 'kodim01.x2', 'irn-jpeg+d.json'), '{"v":2,');
    assert.equal(c.get('kodim01', 'h1', 2, 'irn-jpeg+d', 'k1', () => null), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('first-version files: read when their key is today\'s, copied into per-method files', () => {
  const dir = tmp();
  try {
    const result = { name: 'kodim01', points: [...pts('photo-jpeg', 1), ...pts('irn-jpeg', 30), ...pts('irn-jpeg', 55)], check: { bicubicUp: 26.7, esrganUp: 26.8 } };
    writeFileSync(join(dir, 'kodim01.x2.json'), JSON.stringify({ key: 'old', result }));
    writeFileSync(join(dir, 'kodim02.x2.json'), JSON.stringify({ key: 'stale', result }));
    writeFileSync(join(dir, 'kodim03.x2.json'), JSON.stringify({ key: 'old', photo: 'other', result }));
    const c = new RdCache(dir, 'old');
    const hit = c.get('kodim01', 'h1', 2, 'irn-jpeg', 'new-irn', onlyOf('irn-jpeg'));
    assert.deepEqual(hit, { value: [...pts('irn-jpeg', 30), ...pts('irn-jpeg', 55)], seconds: null, from: 'legacy' });
    // Now in its own file, under the new key: the next run reads that.
    const copied = JSON.parse(readFileSync(join(dir, 'kodim01.x2', 'irn-jpeg.json'), 'utf8'));
    assert.equal(copied.key, 'new-irn');
    assert.equal(copied.migratedFrom, 'kodim01.x2.json');
    assert.equal(new RdCache(dir).get('kodim01', 'h1', 2, 'irn-jpeg', 'new-irn', () => null)?.from, 'cache');
    // The check is read the same way; a method the old file lacks (a decoder) is a miss.
    assert.deepEqual(c.get('kodim01', 'h1', 2, 'check', 'kc', (o) => (o.check as object) ?? null)?.value, { bicubicUp: 26.7, esrganUp: 26.8 });
    assert.equal(c.get('kodim01', 'h1', 2, 'irn-jpeg+d', 'kd', onlyOf('irn-jpeg+d')), null);
    // Another key (settings changed since) or another photo: not used.
    assert.equal(c.get('kodim02', 'h1', 2, 'irn-jpeg', 'new-irn', onlyOf('irn-jpeg')), null);
    assert.equal(c.get('kodim03', 'h1', 2, 'irn-jpeg', 'new-irn', onlyOf('irn-jpeg')), null);
    // Without a legacy key the old files are ignored; the old file itself is left as it was.
    assert.equal(new RdCache(dir).get('kodim02', 'h1', 2, 'photo-jpeg', 'k', onlyOf('photo-jpeg')), null);
    assert.equal(JSON.parse(readFileSync(join(dir, 'kodim01.x2.json'), 'utf8')).key, 'old');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a renamed method (a preset under another name, same key) takes the old file\'s results, relabelled, and keeps them', () => {
  const dir = tmp();
  try {
    const c = new RdCache(dir);
    c.put('kodim01', 'h1', 2, 'irn-jpeg+old-name', 'kd', pts('irn-jpeg+old-name', 30), 9);
    c.put('kodim01', 'h1', 2, 'irn-webp+old-name', 'kw', pts('irn-webp+old-name', 30), 9);
    const relabel = (v: ReturnType<typeof pts>) => v.map((p) => ({ ...p, method: 'irn-jpeg+new-name' }));
    const fresh = new RdCache(dir);
    const hit = fresh.get('kodim01', 'h1', 2, 'irn-jpeg+new-name', 'kd', () => null, relabel);
    assert.deepEqual(hit, { value: pts('irn-jpeg+new-name', 30), seconds: 9, from: 'renamed' });
    const copied = JSON.parse(readFileSync(join(dir, 'kodim01.x2', 'irn-jpeg+new-name.json'), 'utf8'));
    assert.deepEqual([copied.method, copied.key, copied.migratedFrom], ['irn-jpeg+new-name', 'kd', 'kodim01.x2/irn-jpeg+old-name.json']);
    assert.equal(new RdCache(dir).get('kodim01', 'h1', 2, 'irn-jpeg+new-name', 'kd', () => null)?.from, 'cache', 'its own file from now on');
    // Another key, another photo or another scale: no match.
    assert.equal(fresh.get('kodim01', 'h1', 2, 'irn-jpeg+other', 'kx', () => null, relabel), null);
    assert.equal(fresh.get('kodim01', 'h2', 2, 'irn-jpeg+other', 'kd', () => null, relabel), null);
    assert.equal(fresh.get('kodim01', 'h1', 4, 'irn-jpeg+other', 'kd', () => null, relabel), null);
    // A damaged file, or one whose name is not its method, is not a source.
    writeFileSync(join(dir, 'kodim01.x2', 'broken.json'), '{"v":2,');
    writeFileSync(join(dir, 'kodim01.x2', 'stray.json'), JSON.stringify({ v: 2, method: 'elsewhere', key: 'ks', photo: 'h1', seconds: 1, value: [] }));
    assert.equal(new RdCache(dir).get('kodim01', 'h1', 2, 'irn-x', 'ks', () => null), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('model hashes: the new one covers the weight files, the first version\'s model.json only', () => {
  const dir = tmp();
  try {
    const m = join(dir, 'model');
    mkdirSync(m);
    const json = JSON.stringify({ weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: [] }] });
    writeFileSync(join(m, 'model.json'), json);
    writeFileSync(join(m, 'group1-shard1of1.bin'), new Uint8Array([1, 2, 3]));
    const h1 = modelHash(m);
    const l1 = legacyModelFingerprint(m);
    assert.equal(l1, createHash('sha256').update(json).digest('hex'));
    writeFileSync(join(m, 'group1-shard1of1.bin'), new Uint8Array([1, 2, 4]));
    assert.notEqual(modelHash(m), h1, 'retrained weights, same model.json: another hash');
    // What a page downloads: model.json (gzipped, as served) and the weight files it names (as
    // stored), nothing else in the folder.
    writeFileSync(join(m, 'PROVENANCE.md'), 'x'.repeat(1000));
    assert.equal(modelBytes(m), gzipSync(json, { level: 9 }).length + 3);
    assert.equal(legacyModelFingerprint(m), l1);
    assert.equal(modelHash(join(dir, 'none')), 'missing');
    // The first version's key: its JSON, in its order.
    const sweeps = { photo: { jpeg: [1] } };
    const want = createHash('sha256')
      .update(JSON.stringify({ v: 1, SWEEPS: sweeps, CODEC_SETTINGS: { jpeg: {} }, models: { 2: l1, 4: 'missing' } }))
      .digest('hex')
      .slice(0, 16);
    assert.equal(legacyKey(sweeps, { jpeg: {} }, m, join(dir, 'none')), want);
    assert.equal(settingsKey({ a: 1 }), settingsKey({ a: 1 }));
    assert.notEqual(settingsKey({ a: 1 }), settingsKey({ a: 2 }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
