// Issue 15 in the browser: `<irn-image>` and the Rescaler decode PNGs from any URL, so the
// same hostile files the Node fuzz suite feeds the CLI (test/fuzz/generators.ts) go through
// the page's decoders here: decodePng, decodeInput (a Blob, as a fetched URL becomes) and the
// Rescaler's input path. Each must be refused quickly with a clear message, leaving the tab
// usable. Time is measured with performance.now around each call (the decoders are
// synchronous, so that is also how long the tab was blocked).
import encodeAvif from '@jsquash/avif/encode.js';
import { concatBytes } from '../../packages/core/src/image/bytes.js';
import { decodeInput, decodePng, lrEncoderOptions, lrMetadataJpegComment, Rescaler, withJpegComment } from '../../packages/core/src/browser.js';
import {
  bmpHeader,
  hugeHeader,
  idatOverflow,
  itxtBomb,
  manyTextChunks,
  mutatePng,
  pixelBomb,
  ztxtBomb,
} from '../fuzz/generators.js';
import { assert, rejection, WASM_PATHS, WEIGHTS_URL } from './fixtures/rescaler-fixtures.js';
import { scanBomb } from '../../bench/jpeg/scan-bomb.js';

/** The longest a refusal may block the tab. Before the fix the bombs took 10-60 s or crashed it. */
const MAX_MS = 3000;
/** Errors a user may see from the decoders. */
const CLEAR_ERRORS = new Set(['PngFormatError', 'LimitError']);
const RAW_JS = /Cannot read propert|Invalid typed array length|Invalid array length|Invalid string length|Maximum call stack|is not a function|undefined|Array buffer allocation failed/i;

/**
 * Text bombs in an ancillary chunk: a decoder may skip the chunk (and decode the pixels) or
 * refuse the file, but quickly either way.
 */
const TEXT_BOMBS: Array<[string, () => Uint8Array]> = [
  ['a zTXt bomb (108 KB -> 111 MB of text)', () => ztxtBomb()],
  ['an iTXt bomb (108 KB -> 111 MB of text)', () => itxtBomb()],
  ['1000 zTXt chunks of 1 MiB each (1 GB of text in 1.1 MB)', () => manyTextChunks()],
];

/** Files that must be refused: the irn chunk (upscale needs it), more pixels than the limit, lying headers. */
const BOMBS: Array<[string, () => Uint8Array]> = [
  ['a zTXt bomb in the irn chunk', () => ztxtBomb(111_000_000, 'irn')],
  ['an iTXt bomb in the irn chunk', () => itxtBomb(111_000_000, 'irn')],
  ['a 20000 x 20000 1-bit PNG of 48 KB', () => pixelBomb()],
  ['a header claiming 2^31 - 1 pixels square', () => hugeHeader()],
  ['a 16 x 16 header whose IDAT inflates to 400 MB', () => idatOverflow()],
];

/** Runs `fn`, which must throw; returns the error and how long it took. */
function timedThrow(fn: () => unknown, what: string): { error: Error; ms: number } {
  const start = performance.now();
  try {
    fn();
  } catch (e) {
    return { error: e as Error, ms: performance.now() - start };
  }
  throw new Error(`${what}: expected an error, it was decoded`);
}

function checkClear(error: Error, ms: number, what: string): void {
  assert(ms < MAX_MS, `${what}: took ${ms.toFixed(0)} ms (at most ${MAX_MS})`);
  assert(CLEAR_ERRORS.has(error.name), `${what}: threw ${error.name}: ${error.message}`);
  assert(!RAW_JS.test(error.message), `${what}: raw JavaScript message: ${error.message}`);
  assert(!error.message.includes('\n'), `${what}: a message of several lines`);
}

/** Heap in use, where Chromium reports it (performance.memory); null elsewhere. */
function heapBytes(): number | null {
  return (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? null;
}

/** How long a zero-delay timer waits: the tab's responsiveness right after a refusal. */
async function timerLagMs(): Promise<number> {
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 0));
  return performance.now() - start;
}

describe('hostile PNGs in the browser: decodePng', () => {
  for (const [what, make] of TEXT_BOMBS) {
    it(`reads past or refuses ${what} within ${MAX_MS / 1000} s`, async () => {
      const bytes = make();
      const start = performance.now();
      let text: Record<string, string> = {};
      try {
        text = decodePng(bytes).text;
      } catch (e) {
        checkClear(e as Error, performance.now() - start, what);
      }
      const ms = performance.now() - start;
      assert(Object.values(text).every((t) => t.length <= 1 << 20), `${what}: a text of more than 1 MiB was read`);
      assert(ms < MAX_MS, `${what}: took ${ms.toFixed(0)} ms (at most ${MAX_MS})`);
      const lag = await timerLagMs();
      assert(lag < 500, `${what}: a zero-delay timer waited ${lag.toFixed(0)} ms after`);
    });
  }

  for (const [what, make] of BOMBS) {
    it(`refuses ${what} within ${MAX_MS / 1000} s with a clear error, and the tab still responds`, async () => {
      const bytes = make();
      const heapBefore = heapBytes();
      const { error, ms } = timedThrow(() => decodePng(bytes), what);
      checkClear(error, ms, what);
      const lag = await timerLagMs();
      assert(lag < 500, `${what}: a zero-delay timer waited ${lag.toFixed(0)} ms after the refusal`);
      const heapAfter = heapBytes();
      if (heapBefore != null && heapAfter != null) {
        assert(heapAfter - heapBefore < 256 * 2 ** 20, `${what}: the JS heap grew by ${((heapAfter - heapBefore) / 2 ** 20).toFixed(0)} MB`);
      }
    });
  }

  it('throws only clear errors on 600 seeded random mutations of a real photo, each quickly', async () => {
    const real = new Uint8Array(await (await fetch('/packages/core/test-fixtures/images/astronaut-48x40.png')).arrayBuffer());
    const palette = new Uint8Array(await (await fetch('/packages/core/test-fixtures/images/coffee-palette-24x20.png')).arrayBuffer());
    let refused = 0;
    for (const [name, png] of [['astronaut', real], ['palette', palette]] as const) {
      for (let seed = 1; seed <= 300; seed++) {
        const m = mutatePng(png, seed);
        const start = performance.now();
        try {
          decodePng(m.bytes);
        } catch (e) {
          refused++;
          checkClear(e as Error, performance.now() - start, `${name} ${m.what}`);
        }
        const ms = performance.now() - start;
        assert(ms < MAX_MS, `${name} ${m.what}: took ${ms.toFixed(0)} ms`);
      }
    }
    assert(refused > 200, `only ${refused} of 600 mutants refused: the mutations test nothing`);
  });
});

describe('hostile PNGs in the browser: Blob inputs and the Rescaler', () => {
  it('decodeInput refuses each bomb as a Blob (as a fetched URL arrives) within the time bound', async () => {
    for (const [what, make] of BOMBS) {
      const start = performance.now();
      const error = await rejection(decodeInput(new Blob([make().slice()], { type: 'image/png' })), what);
      checkClear(error, performance.now() - start, `decodeInput: ${what}`);
    }
  });

  it('the Rescaler refuses the bombs given as a Blob and a URL, and still upscales a real image after', async () => {
    const rescaler = await Rescaler.create({ model: 'irn-x2', weightsUrl: WEIGHTS_URL, wasmPaths: WASM_PATHS, backend: 'cpu' });
    try {
      for (const [what, make] of BOMBS.slice(0, 4)) {
        const blob = new Blob([make().slice()], { type: 'image/png' });
        let start = performance.now();
        const e1 = await rejection(rescaler.upscale(blob, { output: 'raster' }), `Rescaler.upscale(blob): ${what}`);
        assert(performance.now() - start < MAX_MS, `Rescaler.upscale(blob): ${what}: took ${(performance.now() - start).toFixed(0)} ms`);
        assert(!RAW_JS.test(e1.message), `Rescaler.upscale(blob): ${what}: raw JavaScript message: ${e1.message}`);
        const url = URL.createObjectURL(blob);
        try {
          start = performance.now();
          const e2 = await rejection(rescaler.downscale(url, { output: 'raster' }), `Rescaler.downscale(url): ${what}`);
          assert(performance.now() - start < MAX_MS, `Rescaler.downscale(url): ${what}: took ${(performance.now() - start).toFixed(0)} ms`);
          assert(!RAW_JS.test(e2.message), `Rescaler.downscale(url): ${what}: raw JavaScript message: ${e2.message}`);
        } finally {
          URL.revokeObjectURL(url);
        }
      }
      // The refusals left the rescaler usable.
      const ok = await rescaler.upscale('/packages/core/test-fixtures/images/coffee-33x27.png', { output: 'raster' });
      assert(ok.width === 66 && ok.height === 54, `upscaled to ${ok.width}x${ok.height}`);
    } finally {
      await rescaler.dispose();
    }
  });
});

describe('hostile PNGs in the browser: the Rescaler in a Web Worker', () => {
  it('refuses the bombs in the worker, and per-call and per-Rescaler limits reach it', async () => {
    // Limits set on the Rescaler are the default of each call; a call may set its own.
    const rescaler = await Rescaler.create({
      model: 'irn-x2',
      weightsUrl: WEIGHTS_URL,
      wasmPaths: WASM_PATHS,
      backend: 'wasm',
      worker: true,
      limits: { pixels: 5000 },
    });
    try {
      assert(rescaler.worker, 'the Rescaler did not start a worker');
      for (const [what, make] of BOMBS.slice(0, 4)) {
        const start = performance.now();
        const error = await rejection(rescaler.upscale(new Blob([make().slice()], { type: 'image/png' }), { output: 'raster' }), `worker: ${what}`);
        checkClear(error, performance.now() - start, `worker: ${what}`);
      }
      const photo = '/packages/core/test-fixtures/images/coffee-33x27.png'; // 891 pixels, 3,564 restored
      const ok = await rescaler.upscale(photo, { output: 'raster' });
      assert(ok.width === 66 && ok.height === 54, `upscaled to ${ok.width}x${ok.height}`);
      const perCall = await rejection(rescaler.upscale(photo, { output: 'raster', limits: { pixels: 800 } }), 'per-call limit');
      assert(perCall.name === 'LimitError', `per-call limit: ${perCall.name}: ${perCall.message}`);
      assert(/the image \(33x27\) is 891 pixels, above the limit of 800 pixels/.test(perCall.message), perCall.message);
      // The restored size counts too: the 24x20 LR (480 pixels) of a 48x40 photo restores to 1920.
      const { image: lr } = await rescaler.downscale('/packages/core/test-fixtures/images/astronaut-48x40.png', { output: 'blob' });
      const restored = await rejection(rescaler.upscale(lr, { output: 'raster', limits: { pixels: 1000 } }), 'restored size limit');
      assert(restored.name === 'LimitError', `restored size: ${restored.name}: ${restored.message}`);
      assert(/the restored image \(48x40\) is 1,920 pixels, above the limit of 1,000 pixels/.test(restored.message), restored.message);
    } finally {
      await rescaler.dispose();
    }
  });
});

describe('hostile servers in the browser: a download without end', () => {
  it('is cut off at limits.inflatedBytes: decodeInput in the page, the Rescaler in a worker, and through a custom fetch', async () => {
    const url = '/endless-for-tests/lr.png';
    const limits = { inflatedBytes: 1 << 20 };
    const isCutOff = (e: Error, what: string) => {
      assert(e.name === 'LimitError', `${what}: ${e.name}: ${e.message}`);
      assert(/^the image http:\/\/[^ ]+\/endless-for-tests\/lr\.png is more than 1,048,576 bytes, the limit/.test(e.message), `${what}: ${e.message}`);
    };
    let start = performance.now();
    const inPage = await rejection(decodeInput(url, undefined, { limits }), 'decodeInput');
    isCutOff(inPage, 'decodeInput');
    checkClear(inPage, performance.now() - start, 'decodeInput');
    for (const fetchOption of [undefined, (u: RequestInfo | URL) => fetch(u)]) {
      const what = fetchOption == null ? 'worker' : 'worker, custom fetch';
      const rescaler = await Rescaler.create({ model: 'irn-x2', weightsUrl: WEIGHTS_URL, wasmPaths: WASM_PATHS, backend: 'wasm', worker: true, limits, ...(fetchOption ? { fetch: fetchOption as typeof fetch } : {}) });
      try {
        assert(rescaler.worker, 'the Rescaler did not start a worker');
        start = performance.now();
        const error = await rejection(rescaler.upscale(url, { output: 'raster' }), what);
        isCutOff(error, what);
        checkClear(error, performance.now() - start, what);
      } finally {
        await rescaler.dispose();
      }
    }
  });
});

describe('hostile servers in the browser: a download that stalls', () => {
  it('stops when the call is aborted, in the page and in a worker', async () => {
    for (const worker of [false, true]) {
      const what = worker ? 'worker' : 'page';
      const rescaler = await Rescaler.create({ model: 'irn-x2', weightsUrl: WEIGHTS_URL, wasmPaths: WASM_PATHS, backend: worker ? 'wasm' : 'cpu', worker });
      try {
        const controller = new AbortController();
        const call = rescaler.upscale('/stall-for-tests/lr.png', { output: 'raster', signal: controller.signal });
        // Settles at most once the test gives up: a call that ignores the signal fails by timing out.
        const watchdog = new Promise<Error>((resolve) => setTimeout(() => resolve(new Error('still pending 10 s after the abort')), 10_500));
        setTimeout(() => controller.abort(new DOMException('stopped by the test', 'AbortError')), 500);
        const start = performance.now();
        const error = await Promise.race([rejection(call, what), watchdog]);
        assert(error.name === 'AbortError', `${what}: ${error.name}: ${error.message}`);
        assert(performance.now() - start < MAX_MS, `${what}: took ${(performance.now() - start).toFixed(0)} ms`);
      } finally {
        await rescaler.dispose();
      }
    }
  });
});

/** The bytes of `parts` one after another, typed as a Blob part. */
const concat = (...parts: Uint8Array[]) => concatBytes(parts) as Uint8Array<ArrayBuffer>;

describe('hostile lossy LRs in the browser: refused from their headers, before the browser decodes', () => {
  /** A smooth RGBA test image. */
  function smooth(width: number, height: number): ImageData {
    const data = new Uint8ClampedArray(width * height * 4);
    for (let i = 0; i < width * height; i++) data.set([(i * 7) % 256, (i >> 3) % 256, 128, 255], i * 4);
    return new ImageData(data, width, height);
  }

  it('an AVIF whose AV1 frame is larger than its ispe box says (a pixel-limit bypass), with one clear line', async () => {
    const real = new Uint8Array(await encodeAvif(smooth(256, 192), lrEncoderOptions('avif', 60)));
    assert((await decodeInput(new Blob([real]))).raster.width === 256, 'the honest file decodes');
    const liar = real.slice();
    const at = new TextDecoder('latin1').decode(liar).indexOf('ispe');
    new DataView(liar.buffer).setUint32(at + 8, 16);
    new DataView(liar.buffer).setUint32(at + 12, 12);
    const start = performance.now();
    const error = await rejection(decodeInput(new Blob([liar])), 'the lying AVIF');
    const ms = performance.now() - start;
    assert(error.name === 'AvifFormatError' && /^its AV1 sequence header says 256x192, its ispe box 16x12/.test(error.message) && !error.message.includes('\n'), `${error.name}: ${error.message}`);
    assert(ms < MAX_MS, `${ms.toFixed(0)} ms`);
  });

  it('a JPEG LR cut short (it would decode to grey) and one with thousands of empty scans', async () => {
    const canvas = new OffscreenCanvas(64, 48);
    canvas.getContext('2d')!.putImageData(smooth(64, 48), 0, 0);
    const jpeg = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 })).arrayBuffer());
    const meta = lrMetadataJpegComment({ scale: 2, width: 128, height: 96 });
    const lr = new Uint8Array(withJpegComment(jpeg, meta));
    assert((await decodeInput(new Blob([lr]), undefined, { lr: true })).lrMetadata?.width === 128, 'the whole LR reads');
    // The frame header says 64x48; keep the headers and 2 bytes of the first scan.
    const sos = lr.findIndex((b, i) => b === 0xff && lr[i + 1] === 0xda);
    const scanStart = sos + 2 + ((lr[sos + 2] << 8) | lr[sos + 3]);
    const cut = lr.slice(0, scanStart + 2);
    // As an LR (what an upscale decodes), not as a photo, whose stray bytes the browser skips.
    const error = await rejection(decodeInput(new Blob([cut]), undefined, { lr: true }), 'the cut JPEG');
    assert(error.name === 'JpegFormatError' && /^truncated JPEG: a 64x48 image needs at least \d+ bytes of image data/.test(error.message), `${error.name}: ${error.message}`);
    // A progressive-style scan bomb: the same SOS header (and no data) repeated 2000 times.
    const sosSegment = lr.slice(sos, scanStart);
    const bomb = concat(lr.slice(0, scanStart), ...Array.from({ length: 2000 }, () => sosSegment), Uint8Array.of(0xff, 0xd9));
    const scans = await rejection(decodeInput(new Blob([bomb]), undefined, { lr: true }), 'the scan bomb');
    assert(scans.name === 'JpegFormatError' && /more than 500 scans/.test(scans.message), `${scans.name}: ${scans.message}`);
    // As a photo (a downscale's input) too, and with stray bytes before the scan, which send an
    // untidy photo to the browser's decoder (libjpeg takes each scan over the whole frame).
    const untidy = concat(lr.slice(0, sos), Uint8Array.of(0x00, 0x42), bomb.slice(sos));
    for (const [name, file] of [['tidy', bomb], ['untidy', untidy]] as const) {
      const asPhoto = await rejection(decodeInput(new Blob([file])), `the ${name} scan bomb as a photo`);
      assert(asPhoto.name === 'JpegFormatError' && /^it has more than 500 scans/.test(asPhoto.message), `${name}: ${asPhoto.name}: ${asPhoto.message}`);
    }
    const stray = concat(lr.slice(0, sos), Uint8Array.of(0x00, 0x42), lr.slice(sos));
    assert((await decodeInput(new Blob([stray]))).raster.width === 64, 'a photo with stray bytes still decodes');
    // The Rescaler's upscale reads its input as an LR: the cut file is refused, not restored grey.
    const rescaler = await Rescaler.create({ model: 'irn-x2', weightsUrl: WEIGHTS_URL, wasmPaths: WASM_PATHS, backend: 'cpu' });
    try {
      const viaRescaler = await rejection(rescaler.upscale(new Blob([cut])), 'Rescaler.upscale of the cut JPEG');
      assert(/^truncated JPEG/.test(viaRescaler.message), viaRescaler.message);
    } finally {
      await rescaler.dispose();
    }
  });

  it('a JPEG of 100 to 500 scans, which core lets through and Chromium does not decode, says so in its one line', async () => {
    // Valid progressions (bench/jpeg/scan-bomb.ts): 99 scans decode, as a photo and as an LR.
    const ok = scanBomb(64, 48, 99);
    for (const lr of [false, true]) {
      const { raster } = await decodeInput(new Blob([ok]), undefined, { lr });
      assert(raster.width === 64 && raster.height === 48 && Math.round(raster.data[0] * 255) === 128, `99 scans, lr ${lr}: ${raster.width}x${raster.height}`);
    }
    for (const scans of [100, 500]) {
      for (const lr of [false, true]) {
        const error = await rejection(decodeInput(new Blob([scanBomb(64, 48, scans)], { type: 'image/jpeg' }), undefined, { lr }), `${scans} scans, lr ${lr}`);
        assert(
          /^cannot decode the image \(image\/jpeg, \d+ bytes, 100 scans or more: Chromium decodes no JPEG of more than 99\): \S/.test(error.message) && !error.message.includes('\n'),
          `${scans} scans, lr ${lr}: ${error.message}`,
        );
      }
    }
    // A JPEG that fails for another reason (cut in its headers: the browser cannot decode it)
    // gets no word about scans.
    const cut = ok.slice(0, 40);
    const other = await rejection(decodeInput(new Blob([cut], { type: 'image/jpeg' })), 'a cut photo');
    assert(/^cannot decode the image \(image\/jpeg, 40 bytes\): /.test(other.message), other.message);
  });
});

describe('hostile BMP, GIF and ICO files in the browser: refused from their headers, before the browser decodes', () => {
  it('a BMP, a GIF and an ICO of a few bytes claiming 256 to 900 megapixels: one line each, at once; small honest ones still decode', async () => {
    // Before, Chromium decoded them first: a 1 KB BMP of 20000 x 20000 took 16 s and 2.6 GiB
    // (`pnpm bench:header-bombs`), and the limit was checked on the decoded pixels.
    const ico = new Uint8Array(6 + 16 + 40);
    const v = new DataView(ico.buffer);
    v.setUint16(2, 1, true);
    v.setUint16(4, 1, true);
    ico.set([16, 16], 6);
    v.setUint32(6 + 12, 22, true);
    v.setUint32(22, 40, true);
    v.setInt32(26, 30000, true);
    v.setInt32(30, 60000, true);
    const cases: [string, Uint8Array, string][] = [
      ['a BMP', bmpHeader(20000, -20000, 60000), '20000x20000'],
      ['a GIF', Uint8Array.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x80, 0x3e, 0x80, 0x3e, 0, 0, 0, 0x3b]), '16000x16000'],
      ['an ICO', ico, '30000x30000'],
    ];
    for (const [what, bytes, size] of cases) {
      const start = performance.now();
      const error = await rejection(decodeInput(new Blob([bytes as BlobPart])), what);
      const ms = performance.now() - start;
      assert(error.name === 'LimitError' && error.message.startsWith(`the image (${size}) is `) && error.message.includes('above the limit of 100,000,000 pixels'), `${what}: ${error.name}: ${error.message}`);
      assert(ms < 1000, `${what}: ${ms.toFixed(0)} ms`);
    }
    // 3 x 2 pixels of 24 bits, rows padded to 12 bytes.
    const small = await decodeInput(new Blob([bmpHeader(3, 2, 24) as BlobPart], { type: 'image/bmp' }));
    assert(small.raster.width === 3 && small.raster.height === 2, `the honest BMP: ${small.raster.width}x${small.raster.height}`);
    const gif = Uint8Array.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0, 1, 0, 0x80, 0, 0, 255, 255, 255, 0, 0, 0, 0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 1, 0, 0x3b]);
    const one = await decodeInput(new Blob([gif as BlobPart], { type: 'image/gif' }));
    assert(one.raster.width === 1 && one.raster.height === 1, `the honest GIF: ${one.raster.width}x${one.raster.height}`);
  });
});
