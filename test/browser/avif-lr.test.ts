// AVIF LR images (irn downscale --format avif) in the browser: the file our writer makes (libavif
// through @irn/cli's encodeLr, the `irn` metadata in a uuid box appended at the end) decodes
// natively in Chromium, the appended box changes no pixel, its metadata reaches decodeInput and
// the Rescaler, which restores the original odd size from it. Hostile files are refused from
// their headers, before the browser decodes them. Fixture: test/browser/make-webp-fixtures.ts.
import { decodePng, LimitError, Rescaler } from '../../packages/core/src/browser.js';
import { decodeInput } from '../../packages/core/src/browser/inputs.js';
import { applyAvifTransform, AvifFormatError, readAvifInfo } from '../../packages/core/src/image/avif-container.js';
import { avifFile, box, concat, LIBAVIF_GRID_RGB, LIBAVIF_GRID_RGBA, LIBAVIF_QUAD, LIBAVIF_QUAD_IROT1_IMIR0 } from '../../packages/core/src/testing/avif-fixtures.js';
import { assert, assertRasterClose, rasterDiff, rejection, WASM_PATHS, WEIGHTS_URL } from './fixtures/rescaler-fixtures.js';

const AVIF_URL = new URL('./fixtures/images/lr-12x10.avif', import.meta.url).href;
const PNG_URL = new URL('./fixtures/images/lr-12x10.png', import.meta.url).href;
const META = '{"scale":2,"width":23,"height":19}';
/** The longest a refusal from the headers may take. */
const MAX_MS = 1000;

async function bytesOf(url: string): Promise<Uint8Array> {
  return new Uint8Array(await (await fetch(url)).arrayBuffer());
}

/** RGBA pixels of an image file as Chromium decodes it. */
async function nativePixels(bytes: Uint8Array): Promise<{ width: number; height: number; data: Uint8ClampedArray }> {
  const bitmap = await createImageBitmap(new Blob([bytes as BlobPart], { type: 'image/avif' }));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0);
  const { width, height } = bitmap;
  bitmap.close();
  return { width, height, data: ctx.getImageData(0, 0, width, height).data };
}

describe('AVIF LR images in the browser', () => {
  it('decode natively, the appended metadata box changes no pixel, and decodeInput reads the metadata', async () => {
    const avif = await bytesOf(AVIF_URL);
    const ours = readAvifInfo(avif);
    assert(ours.irn != null && new TextDecoder().decode(ours.irn) === META, 'the fixture carries the metadata box');
    // The same file without our box: the encoder's bytes (the box is the last 24 + text bytes).
    const plain = avif.subarray(0, avif.length - 24 - ours.irn.length);
    const withBox = await nativePixels(avif);
    const without = await nativePixels(plain);
    assert(withBox.width === 12 && withBox.height === 10, `native decode: ${withBox.width}x${withBox.height}`);
    assert(withBox.data.every((v, i) => v === without.data[i]), 'the uuid box changed what Chromium decodes');
    const fromAvif = await decodeInput(new Blob([avif as BlobPart]));
    assert(JSON.stringify(fromAvif.lrMetadata) === META, `lrMetadata ${JSON.stringify(fromAvif.lrMetadata)}`);
    assert(fromAvif.raster.width === 12 && fromAvif.raster.channels === 3, `decoded ${fromAvif.raster.width}, ${fromAvif.raster.channels} channels`);
    // Lossy (quality 90, 4:4:4) but close to the PNG of the same LR.
    const png = decodePng(await bytesOf(PNG_URL));
    const { width, height, channels, data } = png;
    const diff = rasterDiff(fromAvif.raster, { width, height, channels, data }, 'AVIF vs PNG');
    assert(diff > 0 && diff < 0.2, `AVIF decoded by the browser vs PNG: max |diff| ${diff}`);
    // A URL goes the same way (fetched, then read as a Blob).
    assert(JSON.stringify((await decodeInput(AVIF_URL)).lrMetadata) === META, 'lrMetadata from a URL');
  });

  it('the Rescaler restores the original odd size from an AVIF LR, close to the PNG route', async () => {
    const rescaler = await Rescaler.create({ model: 'irn-x2', weightsUrl: WEIGHTS_URL, wasmPaths: WASM_PATHS, backend: 'wasm' });
    try {
      const fromAvif = await rescaler.upscale(AVIF_URL, { output: 'raster' });
      assert(fromAvif.width === 23 && fromAvif.height === 19, `restored to ${fromAvif.width}x${fromAvif.height}`);
      const fromPng = await rescaler.upscale(PNG_URL, { output: 'raster' });
      assertRasterClose(fromAvif.image, fromPng.image, 0.25, 'upscale of the AVIF LR vs of the PNG LR');
      // Without its metadata the same pixels restore to LR x 2: the size really came from the box.
      const avif = await bytesOf(AVIF_URL);
      const plain = avif.subarray(0, avif.length - 24 - META.length);
      const bare = await rescaler.upscale(new Blob([plain as BlobPart]), { output: 'raster' });
      assert(bare.width === 24 && bare.height === 20, `without metadata: ${bare.width}x${bare.height}`);
    } finally {
      await rescaler.dispose();
    }
  });

  it('reads grid AVIFs (how cameras and libavif store large photos) as Chromium decodes them, and downscales one', async () => {
    for (const [name, file] of [['RGB 4:2:0', LIBAVIF_GRID_RGB], ['RGBA', LIBAVIF_GRID_RGBA]] as const) {
      const native = await nativePixels(file);
      const { raster } = await decodeInput(new Blob([file as BlobPart]));
      assert(native.width === 128 && raster.width === 128 && raster.height === 128, `${name}: ${native.width}, ${raster.width}x${raster.height}`);
      assert(raster.channels === (name === 'RGBA' ? 4 : 3), `${name}: ${raster.channels} channels`);
      // The same pixels as the browser's own decode (a canvas premultiplies: colours compared
      // where the alpha ramp is near opaque); not flat (the tiles were all drawn).
      const c = raster.channels;
      let worst = 0;
      for (let i = 0; i < 128 * 128; i++) {
        for (let k = 0; k < c; k++) {
          if (k < 3 && c === 4 && native.data[i * 4 + 3] < 250) continue;
          worst = Math.max(worst, Math.abs(raster.data[i * c + k] * 255 - native.data[i * 4 + k]));
        }
      }
      assert(worst < (c === 4 ? 2.01 : 0.01), `${name}: ${worst} levels from the native decode`);
      const corner = (x: number, y: number) => native.data[(y * 128 + x) * 4];
      assert(new Set([corner(10, 10), corner(100, 10), corner(10, 100), corner(100, 100)]).size > 1, `${name}: the four tiles look alike`);
    }
    const rescaler = await Rescaler.create({ model: 'irn-x2', weightsUrl: WEIGHTS_URL, wasmPaths: WASM_PATHS, backend: 'wasm' });
    try {
      const lr = await rescaler.downscale(new Blob([LIBAVIF_GRID_RGB as BlobPart]), { output: 'raster' });
      assert(lr.width === 64 && lr.height === 64, `downscaled to ${lr.width}x${lr.height}`);
    } finally {
      await rescaler.dispose();
    }
  });

  it("applyAvifTransform (the CLI's reading of AVIF photos) turns and mirrors as Chromium shows irot and imir", async () => {
    const plain = await nativePixels(LIBAVIF_QUAD);
    const raster = { width: plain.width, height: plain.height, channels: 4 as const, data: Float32Array.from(plain.data) };
    const find = (bytes: Uint8Array, type: string) => bytes.findIndex((_, i) => String.fromCharCode(...bytes.subarray(i, i + 4)) === type);
    for (const rotate of [0, 1, 2, 3] as const) {
      for (const mirror of [0, 1] as const) {
        const file = LIBAVIF_QUAD_IROT1_IMIR0.slice();
        file[find(file, 'irot') + 4] = rotate;
        file[find(file, 'imir') + 4] = mirror;
        assert(JSON.stringify(readAvifInfo(file).transform) === JSON.stringify({ crop: false, rotate, mirror }), `transform of ${rotate}, ${mirror}`);
        const shown = await nativePixels(file);
        const ours = applyAvifTransform(raster, { crop: false, rotate, mirror });
        assert(shown.width === ours.width && shown.height === ours.height, `irot ${rotate} imir ${mirror}: Chromium ${shown.width}x${shown.height}, ours ${ours.width}x${ours.height}`);
        const differ = shown.data.findIndex((v, i) => v !== ours.data[i]);
        assert(differ < 0, `irot ${rotate} imir ${mirror}: pixel ${differ >> 2} differs`);
      }
    }
  });

  it('refuses a huge ispe, a cut file and a lying box size from the headers, quickly, with one clear line', async () => {
    const cases: Array<[string, Uint8Array, (e: Error) => boolean]> = [
      ['a 60000 x 60000 ispe', avifFile({ width: 60000, height: 60000 }), (e) => e instanceof LimitError && /60000x60000/.test(e.message)],
      ['a cut file', (await bytesOf(AVIF_URL)).subarray(0, 300), (e) => e instanceof AvifFormatError && /more than the \d+ left in the file/.test(e.message)],
      [
        'a box claiming 2^64 - 1 bytes',
        concat(avifFile(), Uint8Array.of(0, 0, 0, 1), box('free').subarray(4, 8), new Uint8Array(8).fill(0xff)),
        (e) => e instanceof AvifFormatError && /the "free" box at byte \d+ claims \d+ bytes/.test(e.message),
      ],
    ];
    for (const [what, bytes, ok] of cases) {
      const start = performance.now();
      const error = await rejection(decodeInput(new Blob([bytes as BlobPart], { type: 'image/avif' })), what);
      const ms = performance.now() - start;
      assert(ok(error), `${what}: ${error.name}: ${error.message}`);
      assert(!error.message.includes('\n') && ms < MAX_MS, `${what}: ${ms.toFixed(0)} ms, ${JSON.stringify(error.message)}`);
    }
  });
});
