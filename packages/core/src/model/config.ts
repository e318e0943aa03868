/** Rescaling factors an IRN model can have: one Haar level per factor of 2. */
export type IrnScale = 2 | 4 | 8;

/** Everything needed to rebuild an IRN model's architecture; saved in its metadata. */
export interface IrnConfig {
  /** Rescaling factor. */
  scale: IrnScale;
  /** Invertible blocks after each Haar level. Published: 8. */
  blocks: number;
  /** Channels added by each dense-block convolution. Published: 32. */
  growth: number;
  /** Bound of the coupling log-scale. Published: 1. */
  clamp: number;
}

/** The published architecture (IRN.md): 8 blocks per level, growth 32, clamp 1. */
export const PUBLISHED_CONFIG: Omit<IrnConfig, 'scale'> = { blocks: 8, growth: 32, clamp: 1 };

/** Version of the metadata written with saved models. */
export const IRN_FORMAT_VERSION = 1;

/** Number of Haar levels for a scale. */
export function levelsOf(scale: IrnScale): number {
  return Math.log2(scale);
}

/** Channels of z for a scale: 3 * scale^2 - 3 (9 for x2, 45 for x4, 189 for x8). */
export function zChannelsOf(scale: IrnScale): number {
  return 3 * scale * scale - 3;
}

/** Checks a (possibly partial, possibly untrusted) config and fills in the published defaults. */
export function resolveConfig(options: Partial<IrnConfig> = {}): IrnConfig {
  const config: IrnConfig = { scale: 2, ...PUBLISHED_CONFIG };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) (config as unknown as Record<string, unknown>)[k] = v;
  if (![2, 4, 8].includes(config.scale)) throw new Error(`IRN scale must be 2, 4 or 8, got ${String(config.scale)}`);
  if (!Number.isInteger(config.blocks) || config.blocks < 1 || config.blocks > 64) {
    throw new Error(`IRN blocks per level must be an integer from 1 to 64, got ${String(config.blocks)}`);
  }
  if (!Number.isInteger(config.growth) || config.growth < 1 || config.growth > 1024) {
    throw new Error(`IRN growth must be an integer from 1 to 1024, got ${String(config.growth)}`);
  }
  if (!(typeof config.clamp === 'number' && config.clamp > 0 && Number.isFinite(config.clamp))) {
    throw new Error(`IRN clamp must be a positive number, got ${String(config.clamp)}`);
  }
  return config;
}
