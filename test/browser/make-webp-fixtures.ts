// Writes the fixtures of test/browser/webp-lr.test.ts and avif-lr.test.ts: one LR image, as `irn downscale`
// would write it for a 23x19 original at x2 (12x10, odd original size on purpose), in each
// format, by the same writer (packages/cli/src/image/lr-codecs.ts):
//
//   test/browser/fixtures/images/lr-12x10.webp   lossless WebP, VP8X + XMP metadata
//   test/browser/fixtures/images/lr-12x10.png    the same pixels as PNG, `irn` text chunk
//   test/browser/fixtures/images/lr-12x10.jpg    MozJPEG quality 90, metadata in a COM segment
//   test/browser/fixtures/images/lr-12x10.avif   libavif quality 90, 4:4:4, metadata in a uuid box at the end
//
//   node --import tsx test/browser/make-webp-fixtures.ts
//
// Deterministic: a procedural image; re-running rewrites identical files.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { encodeLr } from '../../packages/cli/src/image/lr-codecs.js';

const width = 12;
const height = 10;
const data = new Float32Array(width * height * 3);
for (let y = 0; y < height; y++) {
  for (let x = 0; x < width; x++) {
    const i = (y * width + x) * 3;
    data[i] = Math.round(255 * (0.5 + 0.45 * Math.sin(x / 1.7 + y / 3))) / 255;
    data[i + 1] = Math.round((255 * (x * 3 + y * 5)) / (3 * 11 + 5 * 9)) / 255;
    data[i + 2] = ((x ^ y) & 1) === 0 ? 200 / 255 : 40 / 255;
  }
}
const img = { width, height, channels: 3 as const, data };
const metadata = { scale: 2, width: 23, height: 19 };
const dir = new URL('./fixtures/images/', import.meta.url);
for (const format of ['webp', 'png', 'jpeg', 'avif'] as const) {
  const name = `lr-12x10.${format === 'jpeg' ? 'jpg' : format}`;
  await writeFile(fileURLToPath(new URL(name, dir)), await encodeLr(img, { format, metadata, quality: 90 }));
}
