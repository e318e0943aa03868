// Test inputs shared by the tests of @irn/core and @irn/cli (and test/fuzz): built by hand so
// that each test says what it feeds the code. Not part of any build (tsconfig.build excludes
// src/testing); @irn/cli's tests import this file by its path.
import type { TrainImage } from '../data/patches.js';
import { concatBytes as joinBytes } from '../image/bytes.js';

/** A RIFF/WEBP file of `chunks` ([fourcc, payload]), sizes as given unless overridden. */
export function riff(chunks: [string, Uint8Array][], riffSize?: number): Uint8Array {
  const body = chunks.flatMap(([id, data]) => {
    const header = new Uint8Array(8);
    for (let i = 0; i < 4; i++) header[i] = id.charCodeAt(i);
    new DataView(header.buffer).setUint32(4, data.length, true);
    return [header, data, new Uint8Array(data.length & 1)];
  });
  const size = 4 + body.reduce((n, b) => n + b.length, 0);
  const file = new Uint8Array(8 + size);
  file.set([0x52, 0x49, 0x46, 0x46], 0);
  new DataView(file.buffer).setUint32(4, riffSize ?? size, true);
  file.set([0x57, 0x45, 0x42, 0x50], 8);
  let at = 12;
  for (const b of body) {
    file.set(b, at);
    at += b.length;
  }
  return file;
}

/** A VP8L header (no image data after it) claiming `w x h`. */
export function vp8lHeader(w: number, h: number, alpha = false): Uint8Array {
  const bits = ((w - 1) | ((h - 1) << 14) | ((alpha ? 1 : 0) << 28)) >>> 0;
  return new Uint8Array([0x2f, bits & 0xff, (bits >>> 8) & 0xff, (bits >>> 16) & 0xff, bits >>> 24]);
}

/** A VP8X chunk's payload: `flags` and a canvas of `w x h`. */
export function vp8x(w: number, h: number, flags = 0): Uint8Array {
  const d = new Uint8Array(10);
  d[0] = flags;
  d.set([(w - 1) & 0xff, ((w - 1) >> 8) & 0xff, (w - 1) >> 16], 4);
  d.set([(h - 1) & 0xff, ((h - 1) >> 8) & 0xff, (h - 1) >> 16], 7);
  return d;
}

/** A seeded generator of floats in [0, 1) (mulberry32): the same seed gives the same cases. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Two deterministic 12x12 "photos" with edges and gradients, for training tests. */
export function syntheticImages(): TrainImage[] {
  return [0, 1].map((k) => {
    const data = new Uint8Array(12 * 12 * 3);
    for (let y = 0; y < 12; y++) {
      for (let x = 0; x < 12; x++) {
        for (let c = 0; c < 3; c++) data[(y * 12 + x) * 3 + c] = (x * 19 + y * 7 * (k + 1) + c * 60 + (x > 5 ? 90 : 0)) % 256;
      }
    }
    return { width: 12, height: 12, data, name: `synthetic${k}` };
  });
}

/** `parts` end to end, as one array (the byte builders of the format tests and fuzzers). */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return joinBytes(parts);
}
