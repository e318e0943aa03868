#!/usr/bin/env node
// Writes <weights-dir>/manifest.json, which the browser loader (`Rescaler`, `loadModelArtifacts`
// in @irn/core/browser) checks every downloaded weight file against:
//
//   { "irn-x2": { "version": "<16 hex>", "files": { "model.json": "<sha256>", "group1-shard1of1.bin": "<sha256>" } } }
//
// A lossy preset's entry also carries what its model.json metadata says about the LRs it
// restores (`encoder`, `lrCodec`, `lrQualityMax`, `lrQualityMin`, those it has), so that a page can tell which
// preset an LR it codes should name (`Rescaler.lrPresetFor`) without downloading any model:
//
//   "irn-x2-jpeg": { "version": "...", "encoder": "irn-x2", "lrCodec": "jpeg", "lrQualityMax": 89, "files": { ... } }
//
// One entry per sub-folder holding a model.json; its files are model.json and the weight shards
// that model.json lists (nothing else in the folder: PROVENANCE.md, best.json, ... are not
// served to browsers). The version is derived from the hashes, so it changes exactly when the
// weights do, and browser caches keyed by it never serve stale weights.
//
//   node scripts/make-weights-manifest.mjs                 weights/ at the repository root
//   node scripts/make-weights-manifest.mjs <dir>           another folder (test fixtures)
//   node scripts/make-weights-manifest.mjs --check [dir]   exit 1 when the manifest is stale
//
// Run it (`pnpm weights:manifest`) after retraining or converting any model under weights/.
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** SHA-256 of `bytes` as lowercase hex. */
function sha256(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The manifest of the model folders under `dir`, as an object (names sorted).
 * @param {string} dir
 * @returns {Promise<Record<string, { version: string, encoder?: string, lrCodec?: string, lrQualityMax?: number, lrQualityMin?: number, files: Record<string, string> }>>}
 */
export async function makeWeightsManifest(dir) {
  const manifest = {};
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  for (const name of entries) {
    const folder = join(dir, name);
    let modelJsonBytes;
    try {
      modelJsonBytes = await readFile(join(folder, 'model.json'));
    } catch {
      continue; // not a model folder
    }
    const modelJson = JSON.parse(modelJsonBytes.toString('utf8'));
    const shards = (modelJson.weightsManifest ?? []).flatMap((group) => group.paths ?? []);
    const files = { 'model.json': sha256(modelJsonBytes) };
    for (const shard of shards) {
      if (shard.includes('..') || shard.startsWith('/') || /^[a-z]+:/i.test(shard)) {
        throw new Error(`${name}/model.json lists the weight file "${shard}" outside its folder`);
      }
      files[shard] = sha256(await readFile(join(folder, shard)));
    }
    const version = sha256(Object.entries(files).map(([f, h]) => `${f}:${h}\n`).join('')).slice(0, 16);
    manifest[name] = { version, ...lrNotes(modelJson), files };
  }
  return manifest;
}

/** The keys of a model.json's `irn` metadata that a manifest entry repeats: a lossy preset's. */
const LR_NOTE_KEYS = ['encoder', 'lrCodec', 'lrQualityMax', 'lrQualityMin'];

/**
 * What a model.json's metadata says about the LRs its model restores: `encoder`, `lrCodec`,
 * `lrQualityMax` and `lrQualityMin`, those it has (none for a lossless preset).
 */
function lrNotes(modelJson) {
  const irn = modelJson.userDefinedMetadata?.irn ?? {};
  return Object.fromEntries(LR_NOTE_KEYS.filter((k) => irn[k] != null).map((k) => [k, irn[k]]));
}

/** The manifest as written to disk (2-space JSON, trailing newline). */
export function manifestText(manifest) {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

async function main(args) {
  const check = args.includes('--check');
  const dir = resolve(args.find((a) => !a.startsWith('--')) ?? join(root, 'weights'));
  const out = join(dir, 'manifest.json');
  const text = manifestText(await makeWeightsManifest(dir));
  if (check) {
    const current = await readFile(out, 'utf8').catch(() => '');
    if (current !== text) {
      process.stderr.write(`${out} is stale: run pnpm weights:manifest\n`);
      process.exitCode = 1;
    }
    return;
  }
  await writeFile(out, text);
  const names = Object.keys(JSON.parse(text));
  process.stdout.write(`wrote ${out}: ${names.length ? names.join(', ') : 'no models'}\n`);
}

if (process.argv[1] != null && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`make-weights-manifest: ${e.message}\n`);
    process.exitCode = 1;
  });
}
