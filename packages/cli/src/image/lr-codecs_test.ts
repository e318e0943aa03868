// The Node codecs (libwebp and MozJPEG through @jsquash) with the containers @irn/core writes
// the metadata into: what the files hold, that other decoders read them, and that hostile
// files fail with one line. (The container parsers alone: core's webp-container_test and
// jpeg-segments_test.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { readFileSync } from 'node:fs';
import { AvifFormatError, decodePng, LimitError, lrEncoderVariants, lrMetadataXmp, readLrFileInfo, withWebpXmp } from '@irn/core';
import { riff, seededRandom, vp8lHeader, vp8x } from '../../../core/src/testing/fixtures.js';
import { avifFile, LIBAVIF_GRID_RGB, LIBAVIF_GRID_RGBA } from '../../../core/src/testing/avif-fixtures.js';
import { decodeLr, encodeLr, toRgba8 } from './lr-codecs.js';

/** A small RGB test image with structure in every channel. */
function testImage(width: number, height: number, channels: 3 | 4 = 3) {
  const data = new Float32Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 37 + (i % 7) * 11) % 256) / 255;
  if (channels === 4) for (let i = 3; i < data.length; i += 4) data[i] = i % 3 === 0 ? 0 : ((i * 5) % 256) / 255;
  return { width, height, channels, data };
}

/** A smooth RGB test image (JPEG-friendly, so a lossy round trip stays close). */
function smoothImage(width: number, height: number) {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = 0.5 + 0.4 * Math.sin(x / 5);
      data[i + 1] = (x + y) / (width + height);
      data[i + 2] = 0.3 + 0.3 * Math.cos(y / 4);
    }
  }
  return { width, height, channels: 3 as const, data };
}

/** MozJPEG's encoder from @jsquash/jpeg, compiled here (Node cannot fetch the .wasm by URL). */
async function mozjpeg(): Promise<(img: { data: Uint8ClampedArray; width: number; height: number }, o: object) => Promise<ArrayBuffer>> {
  const entry = '@jsquash/jpeg/encode.js';
  const mod = (await import(entry)) as { init: (m: WebAssembly.Module) => Promise<unknown>; default: (img: { data: Uint8ClampedArray; width: number; height: number }, o: object) => Promise<ArrayBuffer> };
  await mod.init(await WebAssembly.compile(readFileSync(new URL('codec/enc/mozjpeg_enc.wasm', import.meta.resolve(entry)))));
  return mod.default;
}

/** The marker byte of a JPEG's frame header (0xc0 baseline, 0xc2 progressive). */
function sofMarker(bytes: Uint8Array): number {
  for (let i = 2; i + 4 <= bytes.length; ) {
    const m = bytes[i + 1];
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) return m;
    i += 2 + ((bytes[i + 2] << 8) | bytes[i + 3]);
  }
  throw new Error('no frame header');
}

/** SOI, a frame header (SOF0) claiming `w x h`, SOS with nothing after it. */
function claiming(w: number, h: number): Uint8Array {
  return new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, h >> 8, h & 0xff, w >> 8, w & 0xff, 1, 1, 0x11, 0, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0]);
}

describe('WebP LR images', () => {
  it('adds an XMP chunk in a VP8X file that reads back, and the pixels still decode', async () => {
    const img = testImage(13, 9, 4);
    const plain = await encodeLr(img, { format: 'webp' });
    assert.equal(readLrFileInfo(plain).lrMetadata, null);
    const xmp = lrMetadataXmp({ scale: 4, width: 49, height: 35 });
    const ext = withWebpXmp(plain, xmp);
    const info = readLrFileInfo(ext);
    assert.equal(String.fromCharCode(...ext.subarray(12, 16)), 'VP8X');
    assert.equal(ext[20] & 0x14, 0x14, 'alpha and XMP flags set');
    assert.deepEqual([info.width, info.height, info.alpha], [13, 9, true]);
    assert.deepEqual(info.lrMetadata, { scale: 4, width: 49, height: 35 });
    // Replacing, not adding: one XMP chunk.
    const again = withWebpXmp(ext, lrMetadataXmp({ scale: 2, width: 25, height: 17 }));
    assert.equal(again.length, ext.length);
    assert.deepEqual(readLrFileInfo(again).lrMetadata, { scale: 2, width: 25, height: 17 });
    const back = await decodeLr(again);
    assert.equal(back.image.channels, 4);
  });

  it('checks the pixels a file claims against the limit before the decoder runs', async () => {
    const bomb = riff([['VP8X', vp8x(16384, 16384)], ['VP8L', vp8lHeader(16384, 16384)]]);
    await assert.rejects(decodeLr(bomb), LimitError);
    // Within a raised limit it reaches the decoder, which fails on the missing data.
    await assert.rejects(decodeLr(bomb, { pixels: 3e8 }), /its WebP bitstream cannot be decoded/);
  });
});

describe('JPEG LR images', () => {
  it('a MozJPEG LR carries its metadata in a COM segment that other decoders skip', async () => {
    const img = smoothImage(37, 23);
    const meta = { scale: 2, width: 73, height: 45 };
    const bytes = await encodeLr(img, { format: 'jpeg', quality: 90, metadata: meta });
    assert.ok(new TextDecoder('latin1').decode(bytes).includes('irn {"scale":2,"width":73,"height":45}'));
    // After the JFIF APP0 segment, which must come first.
    assert.equal(String.fromCharCode(...bytes.subarray(6, 10)), 'JFIF');
    assert.deepEqual(readLrFileInfo(bytes).lrMetadata, meta);
    const ours = await decodeLr(bytes);
    assert.deepEqual([ours.format, ours.image.width, ours.image.height, ours.image.channels], ['jpeg', 37, 23, 3]);
    assert.deepEqual(ours.lrMetadata, meta);
    // Another decoder (jpeg-js) reads the same image: the comment changed nothing.
    const other = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
    let worst = 0;
    for (let i = 0; i < 37 * 23; i++) {
      for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(other.data[4 * i + c] / 255 - ours.image.data[3 * i + c]));
    }
    assert.ok(worst <= 3 / 255, `decoders differ by ${worst * 255} levels`);
    // Lossy but close at quality 90 on a smooth image.
    let err = 0;
    for (let i = 0; i < img.data.length; i++) err += (img.data[i] - ours.image.data[i]) ** 2;
    assert.ok(10 * Math.log10(img.data.length / err) > 35, 'PSNR above 35 dB');
    // Higher quality, more bytes.
    assert.ok((await encodeLr(img, { format: 'jpeg', quality: 50 })).length < bytes.length - 4 - 40);
  });

  it("is the smaller of MozJPEG's progressive and baseline files: baseline on a small LR, progressive on a bigger one at quality 90", async () => {
    const encode = await mozjpeg();
    const coffee = decodePng(readFileSync(new URL('../../../../samples/coffee.png', import.meta.url)));
    const crop = (w: number, h: number) => {
      const data = new Float32Array(w * h * 3);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = coffee.data[(y * coffee.width + x) * coffee.channels + c];
      return { width: w, height: h, channels: 3 as const, data };
    };
    for (const [w, h, q, mode] of [
      [64, 48, 60, 'baseline'],
      [coffee.width, coffee.height, 90, 'progressive'],
    ] as const) {
      const img = crop(w, h);
      const sizes = [];
      for (const o of lrEncoderVariants('jpeg', q)) sizes.push((await encode({ data: toRgba8(img), width: w, height: h }, o)).byteLength);
      const ours = await encodeLr(img, { format: 'jpeg', quality: q });
      assert.equal(ours.length, Math.min(...sizes), `${w}x${h} q${q}: ${ours.length} bytes, progressive ${sizes[0]}, baseline ${sizes[1]}`);
      assert.equal(sizes[mode === 'baseline' ? 1 : 0], Math.min(...sizes), `${w}x${h} q${q}: ${mode} is the smaller (${sizes})`);
      // The frame header says which: SOF0 baseline, SOF2 progressive.
      assert.equal(sofMarker(ours), mode === 'baseline' ? 0xc0 : 0xc2);
    }
  });

  it('refuses alpha and a bad quality', async () => {
    await assert.rejects(encodeLr({ width: 2, height: 2, channels: 4, data: new Float32Array(16) }, { format: 'jpeg' }), /JPEG has no alpha channel/);
    await assert.rejects(encodeLr(smoothImage(4, 4), { format: 'jpeg', quality: 0 }), /quality must be a whole number from 1 to 100/);
  });

  it('checks the pixels a file claims before decoding', async () => {
    await assert.rejects(decodeLr(claiming(60000, 60000)), LimitError);
  });

  it("names libjpeg's reason when MozJPEG gives up on a file, not Emscripten's exit(1)", async () => {
    const bad = withBogusHuffmanTable(await encodeLr(smoothImage(12, 10), { format: 'jpeg' }));
    await assert.rejects(decodeLr(bad), (e: Error) => {
      assert.equal(e.message, 'its JPEG data cannot be decoded (MozJPEG: Bogus Huffman table definition)');
      return true;
    });
  });

  it('a fresh MozJPEG instance after each file it gave up on: 150 of them, then a good file decodes the same', { timeout: 60_000 }, async () => {
    // exit(1) leaves the C stack pointer where libjpeg was: after some 70 such files one
    // instance failed on good files ("null function or function signature mismatch"), then hung.
    const good = await encodeLr(smoothImage(12, 10), { format: 'jpeg' });
    const bad = withBogusHuffmanTable(good);
    const before = await decodeLr(good);
    for (let i = 0; i < 150; i++) await assert.rejects(decodeLr(bad), /: its JPEG data cannot be decoded \(/, `file ${i}`);
    const after = await decodeLr(good);
    assert.deepEqual(after.image.data, before.image.data);
  });
});

/** A copy of a JPEG whose first Huffman table claims 0xa1 codes of length 1, more than its segment holds. */
function withBogusHuffmanTable(jpegBytes: Uint8Array): Uint8Array {
  const out = jpegBytes.slice();
  for (let i = 2; i + 4 <= out.length; ) {
    if (out[i + 1] === 0xc4) {
      out[i + 5] = 0xa1; // after FF C4, the length and the table class/id: the count of 1-bit codes
      return out;
    }
    i += 2 + ((out[i + 2] << 8) | out[i + 3]);
  }
  throw new Error('no DHT segment');
}

/** Y (BT.601) PSNR in dB of two rasters of 3 or 4 channels (alpha ignored). */
function psnrY(a: { data: Float32Array; channels: number }, b: { data: Float32Array; channels: number }): number {
  let se = 0;
  const n = a.data.length / a.channels;
  const y = (d: Float32Array, i: number, c: number) => 0.299 * d[i * c] + 0.587 * d[i * c + 1] + 0.114 * d[i * c + 2];
  for (let i = 0; i < n; i++) se += (y(a.data, i, a.channels) - y(b.data, i, b.channels)) ** 2;
  return 10 * Math.log10(n / se);
}

/** Offset of the first `type` box's size field in `bytes`. */
function boxAt(bytes: Uint8Array, type: string): number {
  for (let i = 4; i + 4 <= bytes.length; i++) if (String.fromCharCode(...bytes.subarray(i, i + 4)) === type) return i - 4;
  throw new Error(`no ${type} box`);
}

describe('AVIF LR images', () => {
  it('libavif encodes at the quality asked, the metadata rides in a uuid box at the end, and libavif decodes the file', async () => {
    const img = smoothImage(37, 23);
    const meta = { scale: 2, width: 73, height: 45 };
    const bytes = await encodeLr(img, { format: 'avif', quality: 80, metadata: meta });
    assert.equal(String.fromCharCode(...bytes.subarray(4, 12)), 'ftypavif');
    const text = '{"scale":2,"width":73,"height":45}';
    assert.equal(new TextDecoder().decode(bytes.subarray(bytes.length - text.length)), text);
    const plain = await encodeLr(img, { format: 'avif', quality: 80 });
    // The encoder's file, unchanged, then our box: 8 + 16 bytes of header and the JSON.
    assert.deepEqual(bytes.subarray(0, plain.length), plain);
    assert.equal(bytes.length, plain.length + 24 + text.length);
    const info = readLrFileInfo(bytes);
    assert.deepEqual(info, { format: 'avif', width: 37, height: 23, alpha: false, lrMetadata: meta });
    // 4:4:4: av1C's chroma_subsampling_x and _y bits (0x08, 0x04 of its third byte, after
    // seq_tier_0, high_bitdepth, twelve_bit, monochrome) clear; libavif's 4:2:0 sets both.
    assert.equal(bytes[boxAt(bytes, 'av1C') + 8 + 2] & 0x0c, 0, 'chroma at full resolution');
    const ours = await decodeLr(bytes);
    assert.deepEqual([ours.format, ours.image.width, ours.image.height, ours.image.channels], ['avif', 37, 23, 3]);
    assert.deepEqual(ours.lrMetadata, meta);
    assert.ok(psnrY(ours.image, img) > 35, `Y-PSNR ${psnrY(ours.image, img).toFixed(1)} dB at quality 80`);
    // Quality reaches the encoder: lower, fewer bytes and a worse image.
    const low = await decodeLr(await encodeLr(img, { format: 'avif', quality: 10 }));
    assert.ok((await encodeLr(img, { format: 'avif', quality: 10 })).length < plain.length);
    assert.ok(psnrY(low.image, img) < psnrY(ours.image, img) - 3);
    assert.equal((await encodeLr(img, { format: 'avif', quality: 0 })).length > 0, true);
    await assert.rejects(encodeLr(img, { format: 'avif', quality: 101 }), /the AVIF quality must be a whole number from 0 to 100, got 101/);
  });

  it('keeps alpha in an alpha plane, and reads grey as RGB', async () => {
    const img = testImage(16, 12, 4);
    const bytes = await encodeLr(img, { format: 'avif', quality: 90 });
    assert.equal(readLrFileInfo(bytes).alpha, true);
    const back = await decodeLr(bytes);
    assert.equal(back.image.channels, 4);
    let worst = 0;
    for (let i = 3; i < img.data.length; i += 4) worst = Math.max(worst, Math.abs(img.data[i] - back.image.data[i]));
    assert.ok(worst < 0.25, `alpha off by ${worst * 255} levels`);
    const grey = { width: 8, height: 8, channels: 1 as const, data: new Float32Array(64).map((_, i) => i / 63) };
    assert.equal((await decodeLr(await encodeLr(grey, { format: 'avif' }))).image.channels, 3);
  });

  it('decodes grid AVIFs (tiles, as cameras write large photos), RGB and RGBA', async () => {
    for (const [file, channels] of [[LIBAVIF_GRID_RGB, 3], [LIBAVIF_GRID_RGBA, 4]] as const) {
      const { image, format } = await decodeLr(file);
      assert.deepEqual([format, image.width, image.height, image.channels], ['avif', 128, 128, channels]);
      // The bottom-right tile is decoded, not left black: it differs from the top-left one.
      const at = (x: number, y: number) => image.data[(y * 128 + x) * channels];
      assert.notEqual(at(10, 10), at(120, 120));
    }
  });

  it('checks the pixels a file claims before decoding, and the decoded size against the header', async () => {
    const bomb = avifFile({ width: 60000, height: 60000 });
    await assert.rejects(decodeLr(bomb), (e: Error) => e instanceof LimitError && /60000x60000/.test(e.message));
    // Within a raised limit it reaches the decoder, which fails on the missing AV1 data.
    await assert.rejects(decodeLr(bomb, { pixels: 4e9 }), /^Error: its AVIF image data cannot be decoded/);
    await assert.rejects(decodeLr(avifFile({ width: 1, height: 1 }).subarray(0, 200)), AvifFormatError);
    // A real file whose ispe claims a smaller size than its AV1 frame: refused from the AV1
    // sequence header, before the decoder allocates the frame.
    const real = await encodeLr(smoothImage(20, 10), { format: 'avif' });
    const at = boxAt(real, 'ispe');
    const lying = real.slice();
    new DataView(lying.buffer).setUint32(at + 12, 10);
    await assert.rejects(decodeLr(lying), (e: Error) => e instanceof AvifFormatError && /^its AV1 sequence header says 20x10, its ispe box 10x10/.test(e.message));
  });
});

describe('LR codecs', () => {
  it('WebP is lossless: the same 8-bit pixels as the PNG route, RGB and RGBA (colour under alpha 0 kept)', async () => {
    for (const channels of [3, 4] as const) {
      const img = testImage(31, 17, channels);
      const meta = { scale: 2, width: 61, height: 33 };
      const png = await decodeLr(await encodeLr(img, { format: 'png', metadata: meta }));
      const webpBytes = await encodeLr(img, { format: 'webp', metadata: meta });
      assert.equal(String.fromCharCode(...webpBytes.subarray(8, 12)), 'WEBP');
      const webp = await decodeLr(webpBytes);
      assert.equal(webp.format, 'webp');
      assert.deepEqual(webp.lrMetadata, meta);
      assert.equal(webp.image.channels, channels);
      assert.deepEqual(webp.image.data, png.image.data);
      // The fast search is lossless too, and really another search.
      const fastBytes = await encodeLr(img, { format: 'webp', metadata: meta, effort: 'fast' });
      assert.notDeepEqual(fastBytes, webpBytes);
      assert.deepEqual((await decodeLr(fastBytes)).image.data, png.image.data);
    }
  });

  it('says what a file that is no LR format is', async () => {
    await assert.rejects(decodeLr(new TextEncoder().encode('GIF89a')), /not a PNG, WebP, JPEG or AVIF image/);
  });
});

describe('hostile WebP, JPEG and AVIF LR files', () => {
  /** Flips bytes, overwrites 32-bit fields with extreme values, cuts the end: one mutation per case. */
  function mutate(bytes: Uint8Array, random: () => number): Uint8Array {
    const out = bytes.slice();
    const kind = Math.floor(random() * 3);
    if (kind === 0) {
      for (let k = 1 + Math.floor(random() * 4); k > 0; k--) out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
    } else if (kind === 1) {
      const at = Math.floor(random() * (out.length - 4));
      new DataView(out.buffer).setUint32(at, [0, 1, 0x7fffffff, 0xffffffff, 0x3fff3fff][Math.floor(random() * 5)], random() < 0.5);
    } else {
      return out.subarray(0, Math.floor(random() * out.length));
    }
    return out;
  }

  for (const format of ['webp', 'jpeg', 'avif'] as const) {
    it(`a ${format} LR mutated 300 ways decodes or fails with one clear line, each quickly, and the codec still works after`, async () => {
      const img = testImage(40, 28);
      const meta = { scale: 2, width: 79, height: 55 };
      const good = await encodeLr(img, { format, metadata: meta });
      const random = seededRandom({ webp: 7, jpeg: 11, avif: 13 }[format]);
      const raw = /TypeError|RangeError|ReferenceError|undefined|null|NaN|RuntimeError|abort/;
      for (let i = 0; i < 300; i++) {
        const bytes = mutate(good, random);
        const start = performance.now();
        try {
          const out = await decodeLr(bytes, { pixels: 4_000_000 });
          assert.ok(out.image.width * out.image.height <= 4_000_000, `case ${i}: over the limit`);
        } catch (e) {
          const message = (e as Error).message;
          assert.ok(!message.includes('\n') && !raw.test(`${(e as Error).name}: ${message}`), `case ${i}: ${(e as Error).name}: ${message}`);
        }
        assert.ok(performance.now() - start < 2000, `case ${i} took ${performance.now() - start} ms`);
      }
      const after = await decodeLr(good);
      assert.deepEqual([after.image.width, after.lrMetadata], [40, meta]);
    });
  }
});
