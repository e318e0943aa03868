// Types of dist/index.js, which src/build.mjs generates from weights/manifest.json. Written by
// hand (not generated) so that @irn/core type-checks before this package is built.

/** One file of a preset. */
export interface WeightsFile {
  /** Where the page loads it from: next to this module, or wherever a bundler emitted it. */
  readonly url: string;
  /** Its path inside this package (`dist/irn-x2/model.json`), for a CDN that serves npm packages. */
  readonly path: string;
  /** SHA-256 of its bytes, lowercase hex. */
  readonly sha256: string;
}

/** One preset: `model.json` and the weight shards it lists. */
export interface WeightsPreset {
  /** Changes whenever any of its files does (derived from their hashes); caches key by it. */
  readonly version: string;
  /** Its scale factor (2 for `irn-x2`). */
  readonly scale: number;
  /** For a lossy decoder (`irn-x2-jpeg`): the preset whose forward pass makes the LRs it restores. */
  readonly encoder?: string;
  /** For a lossy preset: the LR codec it was trained to restore (`jpeg`, `webp`, `avif`). */
  readonly lrCodec?: string;
  /** For a lossy decoder for low qualities only (`irn-x2-jpeg`: 89): the highest codec quality it is for. */
  readonly lrQualityMax?: number;
  /** For a lossy decoder for high qualities only (`irn-x2-jpeg-q90`: 90): the lowest codec quality it is for. */
  readonly lrQualityMin?: number;
  /** File name (`model.json`, `group1-shard1of1.bin`) -> the file. */
  readonly files: Readonly<Record<string, WeightsFile>>;
}

/** This package's npm name, `@irn/weights`. */
export declare const packageName: string;
/** This package's version. */
export declare const version: string;
/** Preset name (`irn-x2`, `irn-x4`) -> the preset. */
export declare const presets: Readonly<Record<string, WeightsPreset>>;

declare const weights: { readonly packageName: string; readonly version: string; readonly presets: Readonly<Record<string, WeightsPreset>> };
export default weights;
