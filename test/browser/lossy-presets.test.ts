// Lossy presets in the browser (issue 13, item 4): an LR whose metadata names the preset it was
// made for (`irn downscale` writes `model`, e.g. the decoder irn-x2-jpeg for a JPEG LR) is
// restored by <irn-image> and Rescaler.forLr with that preset when no model is given, and one
// that names a preset the presets in use lack fails with one clear line instead of being
// restored by another model. Fixtures: test/browser/fixtures/lossy-weights (make-lossy-fixtures.ts):
// a tiny irn-x2, a stand-in decoder irn-x2-jpeg and a stand-in end-to-end preset irn-x2-avif-v2
// with other weights, on the cpu backend.
import {
  decodePng,
  encodePng,
  lrMetadataJpegComment,
  lrMetadataText,
  MODEL_CACHE_NAME,
  lrEncoderOptions,
  rasterToImageData,
  readLrFileInfo,
  Rescaler,
  UnknownPresetError,
  withJpegComment,
  withLrMetadata,
  type LrMetadata,
  type RasterImage,
} from '@irn/core/browser';
import { releaseSharedModels, type IrnImage, type IrnLoadDetail } from '../../packages/element/src/index.js';
import encodeAvif from '@jsquash/avif/encode.js';

const WEIGHTS = new URL('./fixtures/lossy-weights/', import.meta.url).href;

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

/** A 24x20 photo-like pattern (the HR image). */
function pattern(width: number, height: number): RasterImage {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = Math.round(255 * (0.5 + 0.45 * Math.sin(x / 2.5 + y / 7))) / 255;
      data[i + 1] = Math.round((255 * (x + y)) / (width + height)) / 255;
      data[i + 2] = ((x >> 2) + (y >> 2)) % 2 === 0 ? 0.8 : 0.25;
    }
  }
  return { width, height, channels: 3, data };
}

/** The LR of `hr` made by the irn-x2 fixture (the decoder's encoder), as a raster. */
async function encoderLr(hr: RasterImage): Promise<RasterImage> {
  const maker = await Rescaler.create({ model: 'irn-x2', weightsUrl: WEIGHTS, backend: 'cpu' });
  try {
    return (await maker.downscale(hr, { output: 'raster' })).image;
  } finally {
    await maker.dispose();
  }
}

/** A JPEG LR as `irn downscale --format jpeg` writes it: the browser's JPEG, the metadata in a comment. */
async function jpegLr(lr: RasterImage, meta: LrMetadata): Promise<Blob> {
  const canvas = new OffscreenCanvas(lr.width, lr.height);
  canvas.getContext('2d')!.putImageData(rasterToImageData(lr), 0, 0);
  const jpeg = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.8 })).arrayBuffer());
  return new Blob([withJpegComment(jpeg, lrMetadataJpegComment(meta)) as BlobPart], { type: 'image/jpeg' });
}

/** Restores `lr` in an `<irn-image>` with no model attribute; resolves to the load detail and PNG, or the error. */
async function restoreInElement(lr: Blob): Promise<{ detail: IrnLoadDetail; png: Uint8Array } | { error: Error; model: string }> {
  const el = document.createElement('irn-image') as IrnImage;
  for (const [k, v] of Object.entries({ 'weights-base': WEIGHTS, backend: 'cpu', loading: 'eager', worker: 'false' })) el.setAttribute(k, v);
  el.src = URL.createObjectURL(lr);
  const done = new Promise<{ detail: IrnLoadDetail; png: Uint8Array } | { error: Error; model: string }>((resolve) => {
    el.addEventListener('irn-load', async (e) => resolve({ detail: e.detail, png: new Uint8Array(await (await el.toBlob()).arrayBuffer()) }), { once: true });
    el.addEventListener('irn-error', (e) => resolve({ error: e.detail.error, model: e.detail.model }), { once: true });
  });
  document.body.append(el);
  try {
    return await done;
  } finally {
    el.remove();
  }
}

/** The restore of `lr` by a named preset, as a PNG. */
async function restoreWith(model: string, lr: Blob): Promise<Uint8Array> {
  const r = await Rescaler.create({ model, weightsUrl: WEIGHTS, backend: 'cpu' });
  try {
    return new Uint8Array(await (await r.upscale(lr, { output: 'blob' })).image.arrayBuffer());
  } finally {
    await r.dispose();
  }
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

describe('lossy presets: the LR metadata picks the model', () => {
  after(() => releaseSharedModels());

  it('<irn-image> restores a JPEG LR naming irn-x2-jpeg with that preset, not irn-x2', async () => {
    const hr = pattern(24, 20);
    const lr = await jpegLr(await encoderLr(hr), { scale: 2, width: 24, height: 20, model: 'irn-x2-jpeg' });
    // A copy cached by an earlier run would serve the weights with no request to see.
    await caches.delete(MODEL_CACHE_NAME);
    performance.clearResourceTimings();
    const result = await restoreInElement(lr);
    assert('detail' in result, `irn-error: ${'error' in result ? result.error.message : ''}`);
    assert(result.detail.model === 'irn-x2-jpeg', `restored with ${result.detail.model}`);
    assert(result.detail.width === 24 && result.detail.height === 20, `${result.detail.width}x${result.detail.height}`);
    const fetched = performance.getEntriesByType('resource').map((e) => e.name);
    assert(fetched.some((u) => u.endsWith('/lossy-weights/irn-x2-jpeg/group1-shard1of1.bin')), `decoder weights not requested: ${fetched.join(', ')}`);
    // The pixels are the decoder's, and the decoder's differ from irn-x2's.
    const [byDecoder, byEncoder] = [await restoreWith('irn-x2-jpeg', lr), await restoreWith('irn-x2', lr)];
    const shown = decodePng(result.png);
    const expected = decodePng(byDecoder);
    assert(shown.data.every((v, i) => v === expected.data[i]), 'the element restored other pixels than irn-x2-jpeg does');
    assert(!same(byDecoder, byEncoder), 'the stand-in decoder restores like irn-x2: the test could not tell them apart');
  });

  it("a preset's downscale names it in the LR, so forLr and <irn-image> restore with it (page and worker)", async () => {
    const hr = pattern(24, 20);
    const made: Blob[] = [];
    for (const worker of [false, true]) {
      const maker = await Rescaler.create({ model: 'irn-x2-avif-v2', weightsUrl: WEIGHTS, backend: 'cpu', worker });
      try {
        const { image, lrMetadata } = await maker.downscale(hr, { output: 'blob' });
        assert(lrMetadata.model === 'irn-x2-avif-v2', `worker ${worker}: lrMetadata ${JSON.stringify(lrMetadata)}`);
        const text = decodePng(new Uint8Array(await image.arrayBuffer())).text.irn;
        assert(text === '{"scale":2,"width":24,"height":20,"model":"irn-x2-avif-v2"}', `worker ${worker}: irn chunk ${text}`);
        made.push(image);
      } finally {
        await maker.dispose();
      }
    }
    const lr = made[0];
    const picked = await Rescaler.forLr(lr, { weightsUrl: WEIGHTS, backend: 'cpu' });
    assert(picked.modelInfo.name === 'irn-x2-avif-v2', `forLr chose ${picked.modelInfo.name}`);
    await picked.dispose();
    const result = await restoreInElement(lr);
    assert('detail' in result, `irn-error: ${'error' in result ? result.error.message : ''}`);
    assert(result.detail.model === 'irn-x2-avif-v2', `<irn-image> restored with ${result.detail.model}`);
    const [byMaker, byLossless] = [await restoreWith('irn-x2-avif-v2', lr), await restoreWith('irn-x2', lr)];
    const [shown, expected] = [decodePng(result.png).data, decodePng(byMaker).data];
    assert(shown.length === expected.length && shown.every((v, i) => v === expected[i]), 'the element restored other pixels than irn-x2-avif-v2 does');
    assert(!same(byMaker, byLossless), 'irn-x2 restores like irn-x2-avif-v2: the test could not tell them apart');
    // A model given by URL has no preset name: its LR names none (as `irn downscale --model DIR`).
    const byUrl = await Rescaler.create({ model: `${WEIGHTS}irn-x2-avif-v2/model.json`, backend: 'cpu' });
    try {
      const { lrMetadata } = await byUrl.downscale(hr, { output: 'raster' });
      assert(JSON.stringify(lrMetadata) === '{"scale":2,"width":24,"height":20}', `by URL: ${JSON.stringify(lrMetadata)}`);
    } finally {
      await byUrl.dispose();
    }
  });

  it('a page encodes its own AVIF LR (@jsquash/avif, lrEncoderOptions, withLrMetadata) and <irn-image> restores it with the preset', async () => {
    const hr = pattern(24, 20);
    const maker = await Rescaler.create({ model: 'irn-x2-avif-v2', weightsUrl: WEIGHTS, backend: 'cpu' });
    let lr: { image: ImageData; lrMetadata?: LrMetadata };
    try {
      lr = await maker.downscale(hr);
    } finally {
      await maker.dispose();
    }
    const avif = withLrMetadata(new Uint8Array(await encodeAvif(lr.image, lrEncoderOptions('avif', 80))), lr.lrMetadata!);
    const info = readLrFileInfo(avif);
    assert(info.format === 'avif' && info.width === 12 && info.height === 10, `${info.format} ${info.width}x${info.height}`);
    assert(JSON.stringify(info.lrMetadata) === '{"scale":2,"width":24,"height":20,"model":"irn-x2-avif-v2"}', JSON.stringify(info.lrMetadata));
    const blob = new Blob([avif as BlobPart], { type: 'image/avif' });
    const result = await restoreInElement(blob);
    assert('detail' in result, `irn-error: ${'error' in result ? result.error.message : ''}`);
    assert(result.detail.model === 'irn-x2-avif-v2' && result.detail.width === 24 && result.detail.height === 20, JSON.stringify(result.detail));
  });

  it('a decoder preset refuses to downscale: its encoder makes the LRs', async () => {
    const decoder = await Rescaler.create({ model: 'irn-x2-jpeg', weightsUrl: WEIGHTS, backend: 'cpu' });
    try {
      assert(decoder.encoderPreset === 'irn-x2', `encoderPreset ${decoder.encoderPreset}`);
      let error: unknown;
      await decoder.downscale(pattern(8, 8)).catch((e: unknown) => (error = e));
      assert(
        error instanceof Error && error.message === 'irn-x2-jpeg is a lossy decoder: it restores LRs made by the preset irn-x2; downscale with a Rescaler of irn-x2',
        String(error),
      );
    } finally {
      await decoder.dispose();
    }
    const encoder = await Rescaler.create({ model: 'irn-x2', weightsUrl: WEIGHTS, backend: 'cpu' });
    assert(encoder.encoderPreset === undefined, 'irn-x2 names no encoder');
    await encoder.dispose();
  });

  it('rescaler.lrPresetFor names the decoder for a JPEG LR the page codes at 89 or lower (in a worker too), and the LR restores with it', async () => {
    const hr = pattern(24, 20);
    for (const worker of [false, true]) {
      const maker = await Rescaler.create({ model: 'irn-x2', weightsUrl: WEIGHTS, backend: 'cpu', worker });
      try {
        const names = [maker.lrPresetFor('jpeg', 80), maker.lrPresetFor('jpeg', 89), maker.lrPresetFor('jpeg', 90), maker.lrPresetFor('png'), maker.lrPresetFor('avif', 50)];
        assert(JSON.stringify(names) === '["irn-x2-jpeg","irn-x2-jpeg","irn-x2","irn-x2","irn-x2"]', `worker ${worker}: ${JSON.stringify(names)}`);
        let error: unknown;
        try {
          maker.lrPresetFor('jpeg', 101);
        } catch (e) {
          error = e;
        }
        assert(error instanceof RangeError, `quality 101: ${String(error)}`);
        if (worker) continue;
        // The page's own JPEG (the browser's encoder at 0.8), named as lrPresetFor says: forLr and
        // the element restore it with the decoder.
        const { image, lrMetadata } = await maker.downscale(hr, { output: 'raster' });
        const lr = await jpegLr(image, { ...lrMetadata!, model: maker.lrPresetFor('jpeg', 80) });
        const restorer = await Rescaler.forLr(lr, { weightsUrl: WEIGHTS, backend: 'cpu' });
        assert(restorer.modelInfo.name === 'irn-x2-jpeg', `forLr chose ${restorer.modelInfo.name}`);
        await restorer.dispose();
        const result = await restoreInElement(lr);
        assert('detail' in result && result.detail.model === 'irn-x2-jpeg', JSON.stringify('detail' in result ? result.detail : result.error.message));
      } finally {
        await maker.dispose();
      }
    }
    // A decoder makes no LRs; a model by URL names no preset.
    const decoder = await Rescaler.create({ model: 'irn-x2-jpeg', weightsUrl: WEIGHTS, backend: 'cpu' });
    let error: unknown;
    try {
      decoder.lrPresetFor('jpeg', 80);
    } catch (e) {
      error = e;
    }
    await decoder.dispose();
    assert(error instanceof Error && error.message === 'irn-x2-jpeg is a lossy decoder, which makes no LRs; ask a Rescaler of irn-x2', String(error));
    const byUrl = await Rescaler.create({ model: new URL('irn-x2/model.json', WEIGHTS), backend: 'cpu' });
    assert(byUrl.lrPresetFor('jpeg', 80) === undefined, `a model by URL named ${byUrl.lrPresetFor('jpeg', 80)}`);
    await byUrl.dispose();
  });

  it('an LR naming a preset the presets lack fails with one clear line in irn-error, and the model is not swapped', async () => {
    const lr = pattern(12, 10);
    const png = encodePng(lr, { text: { irn: lrMetadataText({ scale: 2, width: 24, height: 20, model: 'irn-x2-avif' }) } });
    const result = await restoreInElement(new Blob([png as BlobPart], { type: 'image/png' }));
    assert('error' in result, 'an LR made for a missing preset was restored');
    assert(result.model === 'irn-x2-avif', `irn-error model ${result.model}`);
    assert(
      /was made for the model irn-x2-avif, which these presets do not have \(they have irn-x2, irn-x2-avif-v2, irn-x2-jpeg\); set the model attribute$/.test(result.error.message) &&
        !result.error.message.includes('\n'),
      result.error.message,
    );
  });

  it('Rescaler.forLr picks the preset the LR names, else irn-x<scale>, and refuses an unknown one', async () => {
    const lr = pattern(12, 10);
    const withModel = (model?: string) =>
      encodePng(lr, { text: { irn: lrMetadataText({ scale: 2, width: 24, height: 20, ...(model != null ? { model } : {}) }) } });
    const decoder = await Rescaler.forLr(withModel('irn-x2-jpeg'), { weightsUrl: WEIGHTS, backend: 'cpu' });
    assert(decoder.modelInfo.name === 'irn-x2-jpeg', `forLr chose ${decoder.modelInfo.name}`);
    await decoder.dispose();
    const plain = await Rescaler.forLr(new Blob([withModel() as BlobPart]), { weightsUrl: WEIGHTS, backend: 'cpu' });
    assert(plain.modelInfo.name === 'irn-x2', `forLr chose ${plain.modelInfo.name} for an LR naming none`);
    await plain.dispose();
    const told = await Rescaler.forLr(withModel('irn-x2-jpeg'), { model: 'irn-x2', weightsUrl: WEIGHTS, backend: 'cpu' });
    assert(told.modelInfo.name === 'irn-x2', 'options.model wins');
    await told.dispose();
    let error: unknown;
    await Rescaler.forLr(withModel('irn-x2-avif'), { weightsUrl: WEIGHTS, backend: 'cpu' }).catch((e: unknown) => (error = e));
    assert(error instanceof UnknownPresetError, `rejected with ${String(error)}`);
    assert(error.message === 'this LR image was made for the model irn-x2-avif, which these presets do not have (they have irn-x2, irn-x2-avif-v2, irn-x2-jpeg); pass model', error.message);
  });
});
