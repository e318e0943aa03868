import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodePng } from '../image/png-write.js';
import { LimitError } from '../limits.js';
import { decodeBlob, decodeInput, imageDataToRaster } from './inputs.js';

// The browser input paths that run in Node too (Blob, Response and a PNG need no DOM); the
// createImageBitmap paths are exercised in Chromium (test/browser).

const png = encodePng({ width: 30, height: 20, channels: 3, data: new Float32Array(30 * 20 * 3).fill(0.5) }, { text: { irn: '{"scale":2,"width":60,"height":40}' } }) as Uint8Array<ArrayBuffer>;
const isPixelLimit = (e: unknown): boolean =>
  e instanceof LimitError && e.limit === 'pixels' && /^the image \(30x20\) is 600 pixels, above the limit of 599 pixels/.test(e.message);

describe('decodeInput limits', () => {
  it('passes the pixel limit to the PNG decoder, for Blobs and URLs', async () => {
    const blob = new Blob([png], { type: 'image/png' });
    await assert.rejects(decodeBlob(blob, { limits: { pixels: 599 } }), isPixelLimit);
    await assert.rejects(decodeInput(blob, undefined, { limits: { pixels: 599 } }), isPixelLimit);
    const fetchFn = (async () => new Response(png)) as unknown as typeof fetch;
    await assert.rejects(decodeInput('https://example.invalid/a.png', fetchFn, { limits: { pixels: 599 } }), isPixelLimit);
    const ok = await decodeInput('https://example.invalid/a.png', fetchFn, { limits: { pixels: 600 } });
    assert.deepEqual([ok.raster.width, ok.raster.height, ok.lrMetadata], [30, 20, { scale: 2, width: 60, height: 40 }]);
  });

  it('bounds the bytes of a URL by limits.inflatedBytes: a server that sends without end is cut off there, one that says more is refused unread', { timeout: 10_000 }, async () => {
    let pulls = 0;
    let cancelled = false;
    const endless = () =>
      new ReadableStream<Uint8Array>({
        // Ends after 64 KiB all the same, so that a reader without the bound fails instead of hanging.
        pull(controller) {
          if (++pulls > 64) controller.close();
          else controller.enqueue(new Uint8Array(1024));
        },
        cancel() {
          cancelled = true;
        },
      });
    const isByteLimit = (e: unknown): boolean =>
      e instanceof LimitError &&
      e.limit === 'inflatedBytes' &&
      e.message === 'the image https://example.invalid/a.png is more than 4,096 bytes, the limit (raise it with limits: { inflatedBytes: N })';
    const streaming = (async () => new Response(endless())) as unknown as typeof fetch;
    await assert.rejects(decodeInput('https://example.invalid/a.png', streaming, { limits: { inflatedBytes: 4096 } }), isByteLimit);
    assert.ok(pulls <= 8 && cancelled, `${pulls} chunks read, cancelled ${cancelled}`);
    pulls = 0;
    const saysMore = (async () => new Response(endless(), { headers: { 'content-length': '5000' } })) as unknown as typeof fetch;
    await assert.rejects(decodeInput('https://example.invalid/a.png', saysMore, { limits: { inflatedBytes: 4096 } }), isByteLimit);
    assert.ok(pulls <= 1, `${pulls} chunks read`);
    // The PNG itself fits a limit of its own size, and not one byte less.
    const exact = (async () => new Response(png)) as unknown as typeof fetch;
    assert.equal((await decodeInput('https://example.invalid/a.png', exact, { limits: { inflatedBytes: png.length } })).raster.width, 30);
    await assert.rejects(decodeInput('https://example.invalid/a.png', exact, { limits: { inflatedBytes: png.length - 1 } }), (e: unknown) => e instanceof LimitError);
    // What the browser decodes keeps the response's type for its error line (Node has no
    // createImageBitmap, so every such file fails here).
    const gif = (async () => new Response('GIF89a', { headers: { 'content-type': 'image/gif' } })) as unknown as typeof fetch;
    await assert.rejects(decodeInput('https://example.invalid/a.gif', gif), /^Error: cannot decode the image \(image\/gif, 6 bytes\): /);
    const missing = (async () => new Response('gone', { status: 404 })) as unknown as typeof fetch;
    await assert.rejects(decodeInput('https://example.invalid/a.png', missing), /^Error: could not download the image https:\/\/example\.invalid\/a\.png: HTTP 404$/);
  });

  it('checks the size of a Blob against limits.inflatedBytes before reading it', async () => {
    let read = false;
    class Watched extends Blob {
      override arrayBuffer(): Promise<ArrayBuffer> {
        read = true;
        return super.arrayBuffer();
      }
    }
    const blob = new Watched([png], { type: 'image/png' });
    await assert.rejects(decodeBlob(blob, { limits: { inflatedBytes: png.length - 1 } }), (e: unknown) => e instanceof LimitError && e.limit === 'inflatedBytes' && /^the image file is [\d,]+ bytes, above the limit/.test(e.message));
    assert.equal(read, false);
    assert.equal((await decodeBlob(blob, { limits: { inflatedBytes: png.length } })).raster.height, 20);
  });

  it('says an empty file is empty, as a Blob and from a URL', async () => {
    await assert.rejects(decodeBlob(new Blob([], { type: 'image/png' })), /^Error: the image file is empty \(image\/png, 0 bytes\)$/);
    const fetchFn = (async () => new Response(new Uint8Array(0))) as unknown as typeof fetch;
    await assert.rejects(decodeInput('https://example.invalid/a.png', fetchFn), /^Error: the image file is empty \(unknown type, 0 bytes\)$/);
  });

  it('checks ImageData before making its float copy', () => {
    const image = { width: 30, height: 20, data: new Uint8ClampedArray(30 * 20 * 4).fill(255) } as unknown as ImageData;
    assert.throws(() => imageDataToRaster(image, { pixels: 599 }), isPixelLimit);
    assert.equal(imageDataToRaster(image).channels, 3);
  });

  it('refuses a JPEG cut short when it is read as an LR (an upscale), before the browser would decode it', async () => {
    // SOI, SOF0 claiming 640x480 (4800 blocks: at least 600 bytes of data), SOS, 6 bytes, EOI.
    const cut = new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 480 >> 8, 480 & 0xff, 640 >> 8, 640 & 0xff, 1, 1, 0x11, 0, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0, 1, 2, 3, 4, 5, 6, 0xff, 0xd9]);
    await assert.rejects(decodeInput(new Blob([cut]), undefined, { lr: true }), (e: Error) => e.name === 'JpegFormatError' && /^truncated JPEG: a 640x480 image needs at least 600 bytes/.test(e.message));
  });
});

describe('decodeInput region', () => {
  // 7x5 RGB, every value distinct: value (y * 7 + x) * 3 + c, over 255.
  const w = 7, h = 5;
  const values = Float32Array.from({ length: w * h * 3 }, (_, i) => i / 255);
  const pngOf = encodePng({ width: w, height: h, channels: 3, data: values }) as Uint8Array<ArrayBuffer>;
  const cutOf = (x: number, y: number, cw: number, ch: number): number[] => {
    const out: number[] = [];
    for (let j = y; j < y + ch; j++) for (let i = x; i < x + cw; i++) for (let c = 0; c < 3; c++) out.push(((j * w + i) * 3 + c) / 255);
    return out;
  };
  const close = (got: Float32Array, want: number[]): void => {
    assert.equal(got.length, want.length);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-6, `value ${i}: ${got[i]} against ${want[i]}`);
  };

  it('keeps only the rectangle the callback returns, for a PNG file, a URL and a raster, called once with the whole size', async () => {
    const sizes: string[] = [];
    const region = (width: number, height: number) => {
      sizes.push(`${width}x${height}`);
      return { x: 2, y: 1, width: 4, height: 3 };
    };
    const fromBlob = await decodeBlob(new Blob([pngOf], { type: 'image/png' }), { region });
    const fromUrl = await decodeInput('https://example.invalid/a.png', (async () => new Response(pngOf)) as unknown as typeof fetch, { region });
    const raster = { width: w, height: h, channels: 3 as const, data: values };
    const fromRaster = await decodeInput(raster, undefined, { region });
    for (const got of [fromBlob.raster, fromUrl.raster, fromRaster.raster]) {
      assert.deepEqual([got.width, got.height, got.channels], [4, 3, 3]);
      close(got.data, cutOf(2, 1, 4, 3));
    }
    assert.deepEqual(sizes, ['7x5', '7x5', '7x5']);
    assert.equal(raster.data, values, "the caller's raster is not changed");
  });

  it('null, or the whole image, reads all of it; a raster input is still copied', async () => {
    const raster = { width: w, height: h, channels: 3 as const, data: values };
    for (const region of [() => null, () => ({ x: 0, y: 0, width: w, height: h })]) {
      const got = (await decodeInput(raster, undefined, { region })).raster;
      assert.deepEqual([got.width, got.height], [w, h]);
      assert.notEqual(got.data, values);
      close(got.data, cutOf(0, 0, w, h));
    }
  });

  it('refuses a rectangle that is not whole pixels inside the image, naming it and the size', async () => {
    const blob = new Blob([pngOf], { type: 'image/png' });
    for (const r of [
      { x: 4, y: 0, width: 4, height: 1 },
      { x: 0, y: 3, width: 1, height: 3 },
      { x: -1, y: 0, width: 2, height: 2 },
      { x: 0.5, y: 0, width: 2, height: 2 },
      { x: 0, y: 0, width: 0, height: 2 },
      { x: 0, y: 0, width: Number.NaN, height: 2 },
    ]) {
      await assert.rejects(decodeBlob(blob, { region: () => r }), (e: Error) =>
        e instanceof RangeError && e.message === `region: ${r.width}x${r.height} at (${r.x}, ${r.y}) is not whole pixels inside the 7x5 image`);
    }
  });

  it('checks the limits on the whole image, before the region', async () => {
    let called = false;
    const region = () => {
      called = true;
      return { x: 0, y: 0, width: 1, height: 1 };
    };
    await assert.rejects(decodeBlob(new Blob([png]), { limits: { pixels: 599 }, region }), isPixelLimit);
    assert.equal(called, false);
  });
});
