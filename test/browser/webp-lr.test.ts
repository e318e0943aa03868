// WebP and JPEG LR images (irn downscale --format webp|jpeg) in the browser: the files our
// writer makes decode natively (createImageBitmap; WebP losslessly), and their `irn` metadata
// (WebP: XMP; JPEG: a comment) reaches decodeInput and the Rescaler, which restores the
// original odd size from it. Hostile files are refused from their headers, before the
// browser decodes them. Fixtures: test/browser/make-webp-fixtures.ts.
import { decodePng, LimitError, Rescaler } from '../../packages/core/src/browser.js';
import { decodeInput } from '../../packages/core/src/browser/inputs.js';
import { WebpFormatError } from '../../packages/core/src/image/webp-container.js';
import { JpegFormatError, readJpegInfo } from '../../packages/core/src/image/jpeg-segments.js';
import { assert, assertRasterClose, rejection, WASM_PATHS, WEIGHTS_URL } from './fixtures/rescaler-fixtures.js';

const WEBP_URL = new URL('./fixtures/images/lr-12x10.webp', import.meta.url).href;
const PNG_URL = new URL('./fixtures/images/lr-12x10.png', import.meta.url).href;
const JPEG_URL = new URL('./fixtures/images/lr-12x10.jpg', import.meta.url).href;
const META = '{"scale":2,"width":23,"height":19}';

async function blobOf(url: string): Promise<Blob> {
  return (await fetch(url)).blob();
}

/** A WebP file of a VP8X and a VP8L header that claim `w x h`, with no image data. */
function claiming(w: number, h: number): Uint8Array {
  const file = new Uint8Array(44);
  const view = new DataView(file.buffer);
  file.set(new TextEncoder().encode('RIFF'), 0);
  view.setUint32(4, file.length - 8, true);
  file.set(new TextEncoder().encode('WEBPVP8X'), 8);
  view.setUint32(16, 10, true);
  file.set([(w - 1) & 0xff, ((w - 1) >> 8) & 0xff, (w - 1) >> 16, (h - 1) & 0xff, ((h - 1) >> 8) & 0xff, (h - 1) >> 16], 24);
  file.set(new TextEncoder().encode('VP8L'), 30);
  view.setUint32(34, 5, true);
  file[38] = 0x2f;
  view.setUint32(39, ((w - 1) | ((h - 1) << 14)) >>> 0, true);
  return file;
}

describe('WebP and JPEG LR images in the browser', () => {
  it('decode natively to the same pixels as the PNG of the same LR, with the metadata', async () => {
    const webp = await blobOf(WEBP_URL);
    const bitmap = await createImageBitmap(webp);
    assert(bitmap.width === 12 && bitmap.height === 10, `native decode: ${bitmap.width}x${bitmap.height}`);
    bitmap.close();
    const fromWebp = await decodeInput(webp);
    assert(JSON.stringify(fromWebp.lrMetadata) === META, `lrMetadata ${JSON.stringify(fromWebp.lrMetadata)}`);
    const png = decodePng(new Uint8Array(await (await blobOf(PNG_URL)).arrayBuffer()));
    const { width, height, channels, data } = png;
    assertRasterClose(fromWebp.raster, { width, height, channels, data }, 0, 'WebP decoded by the browser vs PNG');
    // A URL goes the same way (fetched, then read as a Blob).
    assert(JSON.stringify((await decodeInput(WEBP_URL)).lrMetadata) === META, 'lrMetadata from a URL');
    const fromJpeg = await decodeInput(JPEG_URL);
    assert(JSON.stringify(fromJpeg.lrMetadata) === META, `JPEG lrMetadata ${JSON.stringify(fromJpeg.lrMetadata)}`);
    assert(fromJpeg.raster.width === 12 && fromJpeg.raster.channels === 3, 'JPEG decoded natively');
  });

  it('the Rescaler restores the original odd size from a WebP LR, as from the PNG', async () => {
    const rescaler = await Rescaler.create({ model: 'irn-x2', weightsUrl: WEIGHTS_URL, wasmPaths: WASM_PATHS, backend: 'wasm' });
    try {
      const fromWebp = await rescaler.upscale(await blobOf(WEBP_URL), { output: 'raster' });
      assert(fromWebp.width === 23 && fromWebp.height === 19, `restored to ${fromWebp.width}x${fromWebp.height}`);
      const fromPng = await rescaler.upscale(await blobOf(PNG_URL), { output: 'raster' });
      assertRasterClose(fromWebp.image, fromPng.image, 0, 'upscale of the WebP LR vs of the PNG LR');
      const viaUrl = await rescaler.upscale(WEBP_URL, { output: 'raster' });
      assert(viaUrl.width === 23 && viaUrl.height === 19, `from a URL: ${viaUrl.width}x${viaUrl.height}`);
      // JPEG: lossy, so close to the PNG route's result, not equal; the size from its comment.
      const fromJpeg = await rescaler.upscale(JPEG_URL, { output: 'raster' });
      assert(fromJpeg.width === 23 && fromJpeg.height === 19, `from the JPEG: ${fromJpeg.width}x${fromJpeg.height}`);
      assertRasterClose(fromJpeg.image, fromPng.image, 0.25, 'upscale of the JPEG LR vs of the PNG LR');
    } finally {
      await rescaler.dispose();
    }
  });

  it('refuses a WebP claiming too many pixels, and a lying RIFF, from the headers', async () => {
    const huge = await rejection(decodeInput(new Blob([claiming(16384, 16384) as BlobPart], { type: 'image/webp' })), 'huge');
    assert(huge instanceof LimitError && /16384x16384/.test(huge.message), `${huge.name}: ${huge.message}`);
    const bytes = new Uint8Array(await (await blobOf(WEBP_URL)).arrayBuffer());
    new DataView(bytes.buffer).setUint32(4, 1 << 30, true);
    const lying = await rejection(decodeInput(new Blob([bytes as BlobPart])), 'lying');
    assert(lying instanceof WebpFormatError && /cut short/.test(lying.message), `${lying.name}: ${lying.message}`);
    const hugeJpeg = Uint8Array.of(0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0xea, 0x60, 0xea, 0x60, 1, 1, 0x11, 0, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0);
    const jpegBomb = await rejection(decodeInput(new Blob([hugeJpeg as BlobPart])), 'huge JPEG');
    assert(jpegBomb instanceof LimitError && /60000x60000/.test(jpegBomb.message), `${jpegBomb.name}: ${jpegBomb.message}`);
    // A JPEG whose segments cannot be read (a stray byte between two, which libjpeg skips
    // with a warning) is still left to the browser, without metadata.
    const jpeg = new Uint8Array(await (await blobOf(JPEG_URL)).arrayBuffer());
    assert(readJpegInfo(jpeg).width === 12, 'the fixture reads');
    const afterApp0 = 4 + ((jpeg[4] << 8) | jpeg[5]);
    const stray = new Uint8Array(jpeg.length + 1);
    stray.set(jpeg.subarray(0, afterApp0));
    stray[afterApp0] = 0x00;
    stray.set(jpeg.subarray(afterApp0), afterApp0 + 1);
    let refused: unknown = null;
    try {
      readJpegInfo(stray);
    } catch (e) {
      refused = e;
    }
    assert(refused instanceof JpegFormatError, 'our reader refuses the stray byte');
    const tolerated = await decodeInput(new Blob([stray as BlobPart]));
    assert(tolerated.raster.width === 12 && tolerated.lrMetadata === null, `stray byte: ${tolerated.raster.width}, ${JSON.stringify(tolerated.lrMetadata)}`);
  });
});
