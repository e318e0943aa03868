// The methods of bench:rd (bench/rd/methods.ts): --decoder-xN parsing, the method list with
// decoders, --only, the decoder's encoder check, and the cache keys' independence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { settingsKey } from '../../bench/rd/cache.js';
import { baseIrnId, decoderMethodId, encoderCheck, encoderOf, halfMethodId, lrCodecOf, lrQualityMaxOf, lrQualityMinOf, methodKey, qualityRangeNote, methodsFor, onlyMatcher, ownMethodId, parseDecoders, presetsMethod, shardOf, type KeyContext } from '../../bench/rd/methods.js';

test('parseDecoders: NAME=DIR, or DIR named after its folder; names distinct and file-name safe', () => {
  assert.deepEqual(parseDecoders(undefined, '--decoder-x2'), []);
  assert.deepEqual(parseDecoders(['weights/irn-x2-jpeg', 'b=.scratch/dec-x2/best'], '--decoder-x2'), [
    { name: 'irn-x2-jpeg', dir: resolve('weights/irn-x2-jpeg') },
    { name: 'b', dir: resolve('.scratch/dec-x2/best') },
  ]);
  // A '=' after a '/' belongs to the folder, not a name.
  assert.deepEqual(parseDecoders(['runs/q=50/best'], '--decoder-x2'), [{ name: 'best', dir: resolve('runs/q=50/best') }]);
  assert.throws(() => parseDecoders(['a=x', 'a=y'], '--decoder-x2'), /--decoder-x2: two decoders are named 'a'/);
  assert.throws(() => parseDecoders(['x/best', 'y/best'], '--decoder-x4'), /two decoders are named 'best'/);
  assert.throws(() => parseDecoders(['a='], '--decoder-x2'), /no folder given/);
  assert.throws(() => parseDecoders(['runs/my dec'], '--decoder-x2'), /the name 'my dec' must be/);
});

test('methodsFor: the shipped curves in report order, then three curves per decoder, check last', () => {
  const none = methodsFor([]).map((m) => m.id);
  assert.deepEqual(none.slice(0, 3), ['photo-jpeg', 'photo-webp', 'photo-avif']);
  assert.equal(none.length, 3 + 6 + 3 + 2 + 1);
  const two = methodsFor([
    { name: 'jd', dir: '/x' },
    { name: 'wd', dir: '/y' },
  ]);
  assert.deepEqual(two.map((m) => m.id).slice(0, none.length - 1), none.slice(0, -1), 'decoders add curves, the others stay as they were');
  const dec = two.filter((m) => m.family === 'decoder');
  assert.deepEqual(dec.map((m) => m.id), ['irn-jpeg+jd', 'irn-webp+jd', 'irn-avif+jd', 'irn-jpeg+wd', 'irn-webp+wd', 'irn-avif+wd']);
  assert.equal(dec[1].label, 'IRN LR WebP + jd decoder');
  assert.equal(dec[5].codec, 'avif');
  assert.equal(dec[5].decoder, 'wd');
  assert.equal(two[two.length - 1].id, 'check');
  assert.equal(decoderMethodId('x', 'jpeg'), 'irn-jpeg+x');
});

test('onlyMatcher: comma-separated whole-id patterns with * wildcards', () => {
  const ids = methodsFor([{ name: 'irn-x2-jpeg', dir: '/x' }]).map((m) => m.id);
  const pick = (p: string | undefined) => ids.filter(onlyMatcher(p));
  assert.deepEqual(pick(undefined), ids);
  assert.deepEqual(pick('irn-*+*'), ['irn-jpeg+irn-x2-jpeg', 'irn-webp+irn-x2-jpeg', 'irn-avif+irn-x2-jpeg']);
  assert.deepEqual(pick('photo-*, check'), ['photo-jpeg', 'photo-webp', 'photo-avif', 'check']);
  // Whole ids: 'irn-jpeg' is the shipped model's curve only; '.' and '+' are literal.
  assert.deepEqual(pick('irn-jpeg'), ['irn-jpeg']);
  assert.deepEqual(pick('irn-jpeg+irn.x2.jpeg'), []);
  assert.throws(() => onlyMatcher(' , '), /no pattern/);
});

test('encoderOf reads userDefinedMetadata.irn.encoder from the raw model.json; encoderCheck says whether it matches', () => {
  assert.equal(encoderOf({ userDefinedMetadata: { irn: { scale: 2, encoder: 'irn-x2' } } }), 'irn-x2');
  assert.equal(encoderOf({ userDefinedMetadata: { irn: { encoder: { name: 'irn-x4' } } } }), 'irn-x4');
  assert.equal(encoderOf({ userDefinedMetadata: { irn: { scale: 2 } } }), null);
  assert.equal(encoderOf({}), null);
  assert.equal(encoderOf(null), null);
  assert.equal(encoderOf({ userDefinedMetadata: { irn: { encoder: 3 } } }), null);
  assert.equal(encoderCheck('d', 'irn-x2', 'irn-x2').ok, true);
  const bad = encoderCheck('d', 'irn-x4', 'irn-x2');
  assert.equal(bad.ok, false);
  assert.match(bad.line, /MISMATCH: trained for the LRs of irn-x4, but measured on those of irn-x2/);
  assert.equal(encoderCheck('d', null, 'irn-x2').ok, null);
  // The codec it was trained for (core's IrnMetadata.lrCodec), named in the line.
  const meta = { userDefinedMetadata: { irn: { scale: 2, encoder: 'irn-x2', lrCodec: 'jpeg' } } };
  assert.equal(lrCodecOf(meta), 'jpeg');
  assert.equal(lrCodecOf({ userDefinedMetadata: { irn: {} } }), null);
  assert.equal(encoderCheck('j', encoderOf(meta), 'irn-x2', lrCodecOf(meta)).line, 'decoder j: encoder irn-x2, matches the model that makes the LRs; trained for jpeg LRs');
  // The qualities it is for (IrnMetadata.lrQualityMax): above them bench:rd restores with --model-xN.
  assert.equal(lrQualityMaxOf(meta), null);
  assert.equal(lrQualityMaxOf({ userDefinedMetadata: { irn: { lrQualityMax: 89 } } }), 89);
  assert.equal(lrQualityMaxOf({ userDefinedMetadata: { irn: { lrQualityMax: '89' } } }), null);
  assert.equal(lrQualityMinOf(meta), null);
  assert.equal(lrQualityMinOf({ userDefinedMetadata: { irn: { lrQualityMin: 90, lrQualityMax: 97 } } }), 90);
  assert.equal(lrQualityMinOf({ userDefinedMetadata: { irn: { lrQualityMin: '90' } } }), null);
  assert.equal(qualityRangeNote(null, null, 'irn-x2'), '');
  assert.equal(qualityRangeNote(null, 89, 'irn-x2'), '; for qualities up to 89 (outside, its LRs name irn-x2, whose own inverse restores them: a gain of 0)');
  assert.equal(qualityRangeNote(90, 97, 'irn-x2'), '; for qualities from 90 to 97 (outside, its LRs name irn-x2, whose own inverse restores them: a gain of 0)');
  assert.equal(qualityRangeNote(80, null, 'irn-x4'), '; for qualities from 80 up (outside, its LRs name irn-x4, whose own inverse restores them: a gain of 0)');
});

test('methodKey: a method keys on its own settings and models; decoders change no other key', () => {
  const ctx = (over: Partial<KeyContext> = {}): KeyContext => ({
    sweeps: { photo: { jpeg: [1, 50], webp: [10], avif: [20] }, lr: { jpeg: [30, 90], webp: [20], avif: [25] } },
    codecSettings: { jpeg: {}, webp: { method: 6 }, avif: { speed: 6 }, 'webp-lossless': { lossless: 1 } },
    versions: { jpeg: '1.6.0', webp: '1.5.0', avif: '2.1.1', esrgan: '1.0.0' },
    model: 'm1',
    decoder: (name) => (name === 'a' ? 'd1' : 'd2'),
    ...over,
  });
  const keys = (ms: ReturnType<typeof methodsFor>, k: KeyContext) => new Map(ms.map((m) => [m.id, methodKey(m, 2, k, settingsKey)]));
  const plain = keys(methodsFor([]), ctx());
  const withDec = keys(methodsFor([{ name: 'a', dir: '/a' }]), ctx());
  for (const [id, key] of plain) assert.equal(withDec.get(id), key, `${id}: its key changed when a decoder was added`);
  assert.equal(new Set(withDec.values()).size, withDec.size, 'every method has its own key');
  // The decoder's key is its files' (hash), not its name's; it follows the encoder model too.
  const aKey = withDec.get('irn-jpeg+a')!;
  const renamed = methodKey(methodsFor([{ name: 'b2', dir: '/a' }]).find((m) => m.id === 'irn-jpeg+b2')!, 2, ctx({ decoder: () => 'd1' }), settingsKey);
  assert.equal(renamed, aKey);
  const otherFiles = methodKey(methodsFor([{ name: 'a', dir: '/a' }]).find((m) => m.id === 'irn-jpeg+a')!, 2, ctx({ decoder: () => 'd9' }), settingsKey);
  assert.notEqual(otherFiles, aKey);
  // A retrained --model-xN changes the IRN curves' keys (and the decoders'), not the codecs' of the photo.
  const m2 = keys(methodsFor([{ name: 'a', dir: '/a' }]), ctx({ model: 'm2' }));
  for (const [id, key] of withDec) {
    const dependsOnModel = id.startsWith('irn-');
    assert.equal(m2.get(id) !== key, dependsOnModel, id);
  }
  // Another JPEG sweep leaves the WebP and AVIF curves alone.
  const jpegSweep = keys(methodsFor([]), ctx({ sweeps: { photo: { jpeg: [1, 60], webp: [10], avif: [20] }, lr: { jpeg: [30, 90], webp: [20], avif: [25] } } }));
  assert.notEqual(jpegSweep.get('photo-jpeg'), plain.get('photo-jpeg'));
  assert.equal(jpegSweep.get('photo-webp'), plain.get('photo-webp'));
  assert.equal(jpegSweep.get('irn-jpeg'), plain.get('irn-jpeg'), 'the LR sweep did not change');
  // IRN's LRs in AVIF coded 4:4:4 (IRN_LR_SETTINGS): the IRN and decoder AVIF curves get new
  // keys, the bicubic thumbnail's AVIF curves and every other curve keep theirs.
  const lr444 = keys(methodsFor([{ name: 'a', dir: '/a' }]), ctx({ irnLrSettings: { avif: { speed: 6, subsample: 3 } } }));
  for (const [id, key] of withDec) assert.equal(lr444.get(id) !== key, id === 'irn-avif' || id === 'irn-avif+a', id);
});

test('lossy presets (--lossy-xN): own curves after the decoders, keyed on their own files, not on --model-xN', () => {
  const ctx: KeyContext = {
    sweeps: { photo: { jpeg: [1, 50], webp: [10], avif: [20] }, lr: { jpeg: [30, 90], webp: [20], avif: [25] } },
    codecSettings: { jpeg: {}, webp: { method: 6 }, avif: { speed: 6 }, 'webp-lossless': { lossless: 1 } },
    versions: { jpeg: '1.6.0', webp: '1.5.0', avif: '2.1.1', esrgan: '1.0.0' },
    model: 'm1',
    decoder: (name) => `hash of ${name}`,
  };
  const ms = methodsFor([{ name: 'd', dir: '/d' }], [{ name: 'p', dir: '/p' }]);
  const own = ms.filter((m) => m.family === 'own');
  assert.deepEqual(own.map((m) => m.id), ['own-jpeg+p', 'own-webp+p', 'own-avif+p']);
  assert.equal(own.map((m) => m.id)[0], ownMethodId('p', 'jpeg'));
  assert.equal(own[0].label, 'p LR JPEG', 'its own LR: no "IRN LR ... + decoder"');
  assert.deepEqual(ms.slice(0, -1).map((m) => m.id).slice(0, methodsFor([{ name: 'd', dir: '/d' }]).length - 1), methodsFor([{ name: 'd', dir: '/d' }]).slice(0, -1).map((m) => m.id), 'a lossy preset adds curves, the others stay');
  assert.equal(ms[ms.length - 1].id, 'check');
  const key = (m: (typeof ms)[number], k: KeyContext) => methodKey(m, 2, k, settingsKey);
  // Its LRs are its own: another --model-xN leaves its key; other files of its own change it.
  assert.equal(key(own[0], { ...ctx, model: 'm2' }), key(own[0], ctx));
  assert.notEqual(key(own[0], { ...ctx, decoder: () => 'other files' }), key(own[0], ctx));
  // Not the key of a decoder with the same files.
  const asDecoder = methodsFor([{ name: 'p', dir: '/p' }]).find((m) => m.id === 'irn-jpeg+p')!;
  assert.notEqual(key(own[0], ctx), key(asDecoder, ctx));
  assert.deepEqual(ms.map((m) => m.id).filter(onlyMatcher('own-*')), ['own-jpeg+p', 'own-webp+p', 'own-avif+p']);
  assert.throws(() => methodsFor([{ name: 'p', dir: '/a' }], [{ name: 'p', dir: '/b' }]), /'p' names both a decoder and a lossy preset/);
});

test('--avif-max: each AVIF curve also at effort max, right after its twin, with keys of its own; no other key moves', () => {
  const dec = [{ name: 'irn-x2-avif', dir: '/d' }];
  const own = [{ name: 'irn-x2-avif-v2', dir: '/p' }];
  const plain = methodsFor(dec, own);
  const ms = methodsFor(dec, own, { avifMax: true });
  const max = ms.filter((m) => m.effort === 'max');
  assert.deepEqual(
    max.map((m) => m.id),
    ['photo-avif-max', 'bicubic-avif-max', 'esrgan-avif-max', 'irn-avif-max', 'irn-avif-max+irn-x2-avif', 'own-avif-max+irn-x2-avif-v2'],
    'the codec part of the id, not the avif in a model name',
  );
  assert.deepEqual(ms.filter((m) => m.effort == null).map((m) => m.id), plain.map((m) => m.id), 'the default-effort methods are as without the option');
  for (const m of max) {
    assert.equal(m.codec, 'avif');
    const twin = ms[ms.indexOf(m) - 1];
    assert.equal(twin.family, m.family, `${m.id} follows its twin`);
    assert.equal(twin.decoder, m.decoder);
  }
  assert.deepEqual(
    max.map((m) => m.label),
    ['AVIF (speed 4) of the photo', 'bicubic LR AVIF (speed 4) + bicubic', 'bicubic LR AVIF (speed 4) + esrgan-slim', 'IRN LR AVIF (speed 4)', 'IRN LR AVIF (speed 4) + irn-x2-avif decoder', 'irn-x2-avif-v2 LR AVIF (speed 4)'],
  );
  assert.equal(decoderMethodId('irn-x2-avif', 'avif', 'max'), 'irn-avif-max+irn-x2-avif');
  assert.equal(ownMethodId('p', 'avif', 'max'), 'own-avif-max+p');
  // A decoder's curve restores the LR files of the shipped model's curve at the same effort.
  assert.equal(baseIrnId(max[4]), 'irn-avif-max');
  assert.equal(baseIrnId(ms.find((m) => m.id === 'irn-avif+irn-x2-avif')!), 'irn-avif');
  // --only: 'irn-*+*' still means every decoder curve; '*-avif-max*' every speed-4 one.
  assert.deepEqual(ms.map((m) => m.id).filter(onlyMatcher('*-avif-max*')), max.map((m) => m.id));
  assert.deepEqual(ms.map((m) => m.id).filter(onlyMatcher('irn-*+*')), ['irn-jpeg+irn-x2-avif', 'irn-webp+irn-x2-avif', 'irn-avif+irn-x2-avif', 'irn-avif-max+irn-x2-avif']);

  const ctx = (effortMax: KeyContext['effortMax']): KeyContext => ({
    sweeps: { photo: { jpeg: [1, 50], webp: [10], avif: [20] }, lr: { jpeg: [30, 90], webp: [20], avif: [25] } },
    codecSettings: { jpeg: {}, webp: { method: 6 }, avif: { speed: 6 }, 'webp-lossless': { lossless: 1 } },
    irnLrSettings: { avif: { speed: 6, subsample: 3 } },
    effortMax,
    versions: { jpeg: '1.6.0', webp: '1.5.0', avif: '2.1.1', esrgan: '1.0.0' },
    model: 'm1',
    decoder: (name) => `hash of ${name}`,
  });
  const keys = (list: typeof ms, k: KeyContext) => new Map(list.map((m) => [m.id, methodKey(m, 2, k, settingsKey)]));
  const before = keys(plain, ctx(undefined));
  const after = keys(ms, ctx({ avif: { speed: 4 } }));
  for (const [id, key] of before) assert.equal(after.get(id), key, `${id}: its key moved`);
  assert.equal(new Set(after.values()).size, after.size, 'every method has its own key');
  // Another effort-max setting (say speed 2) is another measurement.
  const speed2 = keys(ms, ctx({ avif: { speed: 2 } }));
  for (const m of ms) assert.equal(speed2.get(m.id) !== after.get(m.id), m.effort === 'max', m.id);
  assert.throws(() => methodKey(max[0], 2, ctx(undefined), settingsKey), /photo-avif-max: no effort-max settings for avif/);
});

test('--x2-at-x4: an x2 model\'s AVIF curve among the x4 methods, after the presets, with a key of its own on its own sweep', () => {
  const own = [{ name: 'irn-x4-avif', dir: '/p4' }];
  const half = [{ name: 'irn-x2-avif-v2', dir: '/p2' }];
  const plain = methodsFor([], own);
  const ms = methodsFor([], own, { half });
  const h = ms.filter((m) => m.family === 'half');
  assert.deepEqual(h.map((m) => m.id), ['half-avif+irn-x2-avif-v2']);
  // And the x2 thumbnail beside it (once, whatever the number of x2 models).
  const thumb = ms.filter((m) => m.family === 'half-esrgan');
  assert.deepEqual(thumb.map((m) => [m.id, m.label, m.codec]), [['half-esrgan-avif', 'bicubic x2 LR AVIF + esrgan-slim', 'avif']]);
  assert.equal(methodsFor([], own, { half: [...half, { name: 'b', dir: '/b' }] }).filter((m) => m.family === 'half-esrgan').length, 1);
  assert.equal(h[0].id, halfMethodId('irn-x2-avif-v2', 'avif'));
  assert.equal(h[0].label, 'irn-x2-avif-v2 x2 LR AVIF');
  assert.deepEqual([h[0].codec, h[0].decoder], ['avif', 'irn-x2-avif-v2']);
  assert.deepEqual(ms.filter((m) => !m.family.startsWith('half') && m.lowRates == null).map((m) => m.id), plain.map((m) => m.id), 'the other methods stay as they were');
  // AVIF of the photo below its sweep, once, with no speed-4 twin.
  const low = methodsFor([], own, { half, avifMax: true }).filter((m) => m.lowRates);
  assert.deepEqual(low.map((m) => [m.id, m.family, m.codec, m.effort]), [['photo-avif-low', 'photo', 'avif', undefined]]);
  assert.equal(plain.some((m) => m.lowRates), false);
  assert.equal(ms[ms.length - 1].id, 'check');
  // With --avif-max its speed-4 twin follows it.
  const max = methodsFor([], own, { half, avifMax: true }).filter((m) => m.family.startsWith('half'));
  assert.deepEqual(max.map((m) => [m.id, m.label]), [
    ['half-esrgan-avif', 'bicubic x2 LR AVIF + esrgan-slim'],
    ['half-esrgan-avif-max', 'bicubic x2 LR AVIF (speed 4) + esrgan-slim'],
    ['half-avif+irn-x2-avif-v2', 'irn-x2-avif-v2 x2 LR AVIF'],
    ['half-avif-max+irn-x2-avif-v2', 'irn-x2-avif-v2 x2 LR AVIF (speed 4)'],
  ]);
  assert.equal(halfMethodId('p', 'avif', 'max'), 'half-avif-max+p');
  assert.deepEqual(ms.map((m) => m.id).filter(onlyMatcher('half-*')), ['half-esrgan-avif', 'half-avif+irn-x2-avif-v2']);
  assert.throws(() => methodsFor([], own, { half: [{ name: 'irn-x4-avif', dir: '/x' }] }), /'irn-x4-avif' names both an x2 model at x4's rates and a decoder or lossy preset/);

  const ctx = (over: Partial<KeyContext> = {}): KeyContext => ({
    sweeps: { photo: { jpeg: [1, 50], webp: [10], avif: [20] }, lr: { jpeg: [30, 90], webp: [20], avif: [50] }, half: { avif: [10, 25] }, photoLow: { avif: [0, 3] } },
    codecSettings: { jpeg: {}, webp: { method: 6 }, avif: { speed: 6 }, 'webp-lossless': { lossless: 1 } },
    irnLrSettings: { avif: { speed: 6, subsample: 3 } },
    versions: { jpeg: '1.6.0', webp: '1.5.0', avif: '2.1.1', esrgan: '1.0.0' },
    model: 'm1',
    decoder: (name) => `hash of ${name}`,
    ...over,
  });
  const key = (m: (typeof ms)[number], k: KeyContext) => methodKey(m, 4, k, settingsKey);
  const before = new Map(plain.map((m) => [m.id, key(m, ctx())]));
  const after = new Map(ms.map((m) => [m.id, key(m, ctx())]));
  for (const [id, k] of before) assert.equal(after.get(id), k, `${id}: its key moved`);
  assert.equal(new Set(after.values()).size, after.size, 'every method has its own key');
  // Its own files and its own sweep key it; --model-x4 and the x4 LR sweep do not.
  assert.equal(key(h[0], ctx({ model: 'm2' })), key(h[0], ctx()));
  assert.notEqual(key(h[0], ctx({ decoder: () => 'other files' })), key(h[0], ctx()));
  assert.equal(key(h[0], ctx({ sweeps: { ...ctx().sweeps, lr: { jpeg: [30, 90], webp: [20], avif: [60] } } })), key(h[0], ctx()));
  assert.notEqual(key(h[0], ctx({ sweeps: { ...ctx().sweeps, half: { avif: [10, 30] } } })), key(h[0], ctx()));
  // The low-rate photo curve keys on its own sweep; the photo sweep leaves it alone.
  const lowM = ms.find((m) => m.id === 'photo-avif-low')!;
  assert.notEqual(key(lowM, ctx({ sweeps: { ...ctx().sweeps, photoLow: { avif: [0, 4] } } })), key(lowM, ctx()));
  assert.equal(key(lowM, ctx({ sweeps: { ...ctx().sweeps, photo: { jpeg: [1, 50], webp: [10], avif: [30] } } })), key(lowM, ctx()));
  assert.throws(() => key(lowM, ctx({ sweeps: { ...ctx().sweeps, photoLow: undefined } })), /photo-avif-low: no low-rate sweep for avif/);
  // The thumbnail's key: its sweep and esrgan-slim, no model.
  const tk = (k: KeyContext) => key(thumb[0], k);
  assert.equal(tk(ctx({ model: 'm2', decoder: () => 'x' })), tk(ctx()));
  assert.notEqual(tk(ctx({ versions: { ...ctx().versions, esrgan: '1.0.1' } })), tk(ctx()));
  assert.notEqual(tk(ctx({ sweeps: { ...ctx().sweeps, half: { avif: [10, 30] } } })), tk(ctx()));
  // Not the key of a lossy preset with the same files.
  const asOwn = methodsFor([], half).find((m) => m.id === 'own-avif+irn-x2-avif-v2')!;
  assert.notEqual(key(h[0], ctx()), key(asOwn, ctx()));
  assert.throws(() => key(h[0], ctx({ sweeps: { ...ctx().sweeps, half: undefined } })), /half-avif\+irn-x2-avif-v2: no sweep for x2 LRs at x4's rates in avif/);
});

test('presetsMethod: the decoders of a codec together, an id of its own, based on the encoder\'s curve, never keyed or measured', () => {
  assert.deepEqual(presetsMethod('jpeg'), { id: 'presets-jpeg', label: 'IRN LR JPEG + the decoder of each quality', family: 'presets', codec: 'jpeg' });
  const max = presetsMethod('avif', 'max');
  assert.deepEqual([max.id, max.label, max.effort], ['presets-avif-max', 'IRN LR AVIF (speed 4) + the decoder of each quality', 'max']);
  assert.equal(baseIrnId(presetsMethod('jpeg')), 'irn-jpeg');
  assert.equal(baseIrnId(max), 'irn-avif-max');
  // No measured method has such an id, whatever the decoders' names.
  const ids = methodsFor([{ name: 'presets', dir: '/p' }], [], { avifMax: true }).map((m) => m.id);
  for (const c of ['jpeg', 'webp', 'avif'] as const) assert.ok(!ids.includes(presetsMethod(c).id) && !ids.includes(presetsMethod(c, 'max').id));
  const ctx: KeyContext = {
    sweeps: { photo: { jpeg: [1], webp: [1], avif: [1] }, lr: { jpeg: [30], webp: [20], avif: [25] } },
    codecSettings: { jpeg: {}, webp: {}, avif: {}, 'webp-lossless': {} },
    versions: { jpeg: '1', webp: '1', avif: '1', esrgan: '1' },
    model: 'm',
    decoder: () => 'd',
  };
  assert.throws(() => methodKey(presetsMethod('jpeg'), 2, ctx, settingsKey), /^Error: presets-jpeg: drawn from other curves in the report, never measured or cached$/);
});

test('shardOf (--shard K/N): disjoint shards that together are every photo, in order', () => {
  const files = Array.from({ length: 7 }, (_, i) => `p${i}`);
  const shards = [1, 2, 3].map((k) => shardOf(files, `${k}/3`));
  assert.deepEqual(shards, [['p0', 'p3', 'p6'], ['p1', 'p4'], ['p2', 'p5']]);
  assert.deepEqual(shardOf(files, '1/1'), files);
  for (const bad of ['0/2', '3/2', '1/0', '1', 'a/b', '1/2/3']) assert.throws(() => shardOf(files, bad), /--shard must be K\/N/, bad);
});
