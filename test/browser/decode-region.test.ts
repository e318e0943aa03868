// decodeInput's `region` on the paths the browser decodes (JPEG, WebP, an ImageBitmap): only
// the rectangle is drawn and read, and its pixels are exactly those of the whole image read
// and then cut. The PNG and raster paths are tested in Node (packages/core/src/browser/inputs_test.ts).
import { decodeInput, type ImageRegion } from '../../packages/core/src/browser.js';
import type { RasterImage } from '../../packages/core/src/image/raster.js';
import { assert, rejection } from './fixtures/rescaler-fixtures.js';

const JPEG_URL = new URL('./fixtures/images/lr-12x10.jpg', import.meta.url).href;
const WEBP_URL = new URL('./fixtures/images/lr-12x10.webp', import.meta.url).href;

function cut(img: RasterImage, r: ImageRegion): Float32Array {
  const c = img.channels;
  const out = new Float32Array(r.width * r.height * c);
  for (let y = 0; y < r.height; y++) out.set(img.data.subarray(((r.y + y) * img.width + r.x) * c, ((r.y + y) * img.width + r.x + r.width) * c), y * r.width * c);
  return out;
}

function assertSame(got: RasterImage, whole: RasterImage, r: ImageRegion, what: string): void {
  assert(got.width === r.width && got.height === r.height && got.channels === whole.channels, `${what}: ${got.width}x${got.height}x${got.channels}`);
  const want = cut(whole, r);
  const bad = want.findIndex((v, i) => v !== got.data[i]);
  assert(bad < 0, `${what}: value ${bad} is ${got.data[bad]}, the whole image cut has ${want[bad]}`);
}

describe('decodeInput region, where the browser decodes', () => {
  it('a JPEG and a WebP, by URL and as a Blob: the rectangle only, the same pixels as the whole image cut', async () => {
    const r = { x: 3, y: 2, width: 5, height: 7 };
    for (const url of [JPEG_URL, WEBP_URL]) {
      const whole = (await decodeInput(url)).raster;
      assert(whole.width === 12 && whole.height === 10, `${url}: ${whole.width}x${whole.height}`);
      const sizes: string[] = [];
      const region = (w: number, h: number) => (sizes.push(`${w}x${h}`), r);
      assertSame((await decodeInput(url, undefined, { region })).raster, whole, r, url);
      const blob = await (await fetch(url)).blob();
      assertSame((await decodeInput(blob, undefined, { region })).raster, whole, r, `${url} as a Blob`);
      assert(sizes.join() === '12x10,12x10', `called with ${sizes.join()}`);
    }
  });

  it('an ImageBitmap with alpha, and a rectangle outside the image refused', async () => {
    const canvas = new OffscreenCanvas(9, 6);
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = 'rgba(200, 40, 90, 0.5)';
    ctx.fillRect(0, 0, 9, 6);
    ctx.fillStyle = 'rgb(10, 250, 30)';
    ctx.fillRect(4, 1, 3, 3);
    const bitmap = await createImageBitmap(canvas);
    const whole = (await decodeInput(bitmap)).raster;
    assert(whole.channels === 4, `channels ${whole.channels}`);
    const r = { x: 4, y: 1, width: 5, height: 4 };
    assertSame((await decodeInput(bitmap, undefined, { region: () => r })).raster, whole, r, 'bitmap');
    const e = await rejection(decodeInput(bitmap, undefined, { region: () => ({ x: 5, y: 0, width: 5, height: 1 }) }), 'a region outside');
    assert(e instanceof RangeError && e.message === 'region: 5x1 at (5, 0) is not whole pixels inside the 9x6 image', String(e));
    bitmap.close();
  });
});
