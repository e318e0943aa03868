// UpscalerJS's esrgan-slim (`@upscalerjs/esrgan-slim` 1.0.0: idealo's RDN, C1 D2 G4 G0 64,
// trained on DIV2K) as the "thumbnail + super-resolution" baseline of the rate–distortion
// benchmark, loaded in Node with tfjs-layers straight from the package's model.json, without
// UpscalerJS around it. The package's model definition (dist/esm/packages/shared/src/esrgan/
// esrgan.js, architecture 'rdn') says inputRange [0, 255] and outputRange [0, 255], with no
// custom layers to register: the model takes the LR as float RGB 0..255, NHWC, and returns
// the x`scale` image on the same scale, which UpscalerJS clips to [0, 255]. Whole image at
// once (UpscalerJS's default, no patches), so no seams.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Rgba } from './codecs.js';
import { fileSystem } from '@irn/core/node';

/** The folder of esrgan-slim's model.json for `scale`. */
export function esrganSlimDir(scale: 2 | 4): string {
  // The package exports no ./package.json: walk up from its CommonJS entry to the folder
  // whose package.json names it.
  const require = createRequire(import.meta.url);
  let dir = dirname(require.resolve('@upscalerjs/esrgan-slim'));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === '@upscalerjs/esrgan-slim') break;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the folder of @upscalerjs/esrgan-slim');
    dir = up;
  }
  return join(dir, 'models', `x${scale}`);
}

/** An esrgan-slim model for one scale: `upscale` takes and returns 8-bit RGBA. */
export interface EsrganSlim {
  scale: 2 | 4;
  upscale(lr: Rgba): Promise<Rgba>;
}

/** Loads esrgan-slim for `scale` (the active tfjs backend runs it). */
export async function loadEsrganSlim(scale: 2 | 4): Promise<EsrganSlim> {
  const model = await tfl.loadLayersModel(fileSystem(esrganSlimDir(scale)));
  return {
    scale,
    async upscale(lr: Rgba): Promise<Rgba> {
      const { width, height } = lr;
      const rgb = new Float32Array(width * height * 3);
      for (let i = 0; i < width * height; i++) for (let k = 0; k < 3; k++) rgb[3 * i + k] = lr.data[4 * i + k];
      const out = tf.tidy(() => {
        const y = model.predict(tf.tensor4d(rgb, [1, height, width, 3])) as tf.Tensor4D;
        return tf.clipByValue(tf.round(y), 0, 255);
      });
      const [, h, w, c] = out.shape;
      const values = await out.data();
      out.dispose();
      if (h !== height * scale || w !== width * scale || c !== 3) throw new Error(`esrgan-slim x${scale} gave ${w}x${h}x${c} for ${width}x${height}`);
      const data = new Uint8ClampedArray(w * h * 4);
      for (let i = 0; i < w * h; i++) {
        for (let k = 0; k < 3; k++) data[4 * i + k] = values[3 * i + k];
        data[4 * i + 3] = 255;
      }
      return { width: w, height: h, data };
    },
  };
}
