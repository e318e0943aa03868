// FLOP accounting of IRN's dense-block convolutions, shared by the benchmarks
// (bench/page/bench-page.ts in Chromium, bench/model-vs-conv.ts in Node).
import type { IrnConfig } from '../packages/core/src/index.js';

/** IRN's architecture as far as FLOPs go. */
export type Arch = Pick<IrnConfig, 'scale' | 'blocks' | 'growth'>;

/** One conv layer's shape: input channels, output channels, and the level's downsampling from HR. */
export interface ConvShape {
  cin: number;
  cout: number;
  /** The conv runs at HR / `down` (2 at IRN's first Haar level, 4 at the second, ...). */
  down: number;
}

/**
 * The 3x3 dense-block convolutions of IRN, per pixel of each level: at level l (HR / 2^(l+1),
 * C = 3 * 4^(l+1) channels) every block has three subnets, F: C-3 -> 3, G and H: 3 -> C-3,
 * each five convs with `cin + (k-1) * growth -> growth` (k = 1..4) and `cin + 4 growth -> cout`.
 */
export function irnConvShapes(arch: Arch): ConvShape[] {
  const shapes: ConvShape[] = [];
  const levels = Math.log2(arch.scale);
  for (let l = 0; l < levels; l++) {
    const c = 3 * 4 ** (l + 1);
    const subnets: [number, number][] = [[c - 3, 3], [3, c - 3], [3, c - 3]];
    for (let b = 0; b < arch.blocks; b++) {
      for (const [cin, cout] of subnets) {
        for (let k = 1; k <= 5; k++) shapes.push({ cin: cin + (k - 1) * arch.growth, cout: k === 5 ? cout : arch.growth, down: 2 ** (l + 1) });
      }
    }
  }
  return shapes;
}

/** FLOPs (2 per multiply-add) of the dense-block convs of IRN's inverse on an LR crop of w x h. */
export function irnCropFlops(arch: Arch, w: number, h: number): number {
  let flops = 0;
  for (const { cin, cout, down } of irnConvShapes(arch)) {
    const f = arch.scale / down; // level pixels per LR pixel, along each axis
    flops += 2 * 9 * cin * cout * (w * f) * (h * f);
  }
  return flops;
}

