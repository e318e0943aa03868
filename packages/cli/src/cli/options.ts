import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_TILE_SIZE } from '@irn/core';
import { formatBytes } from './format.js';

/**
 * Highest `--temperature`. z is drawn from N(0, T^2) and the model was trained on T = 1;
 * the paper finds the best restorations near 0.8 to 1, and already at a few times that the
 * restored detail is noise. Far above, the coupling's exponentials overflow: at 1e308 every
 * pixel was NaN and the PNG came out black. 10 leaves room for experiments and none for that.
 */
export const MAX_TEMPERATURE = 10;

/** Parses `--temperature`: a number from 0 to {@link MAX_TEMPERATURE}. */
export function parseTemperature(value: string): number {
  const t = Number(value);
  if (value.trim() === '' || !Number.isFinite(t) || t < 0 || t > MAX_TEMPERATURE) {
    throw new InvalidArgumentError(`The temperature must be a number from 0 to ${MAX_TEMPERATURE}, e.g. 0.8.`);
  }
  return t;
}

/** Parses `--seed`: an integer from 0 to 2^31 - 1. */
export function parseSeed(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n > 2 ** 31 - 1) {
    throw new InvalidArgumentError('The seed must be an integer from 0 to 2147483647.');
  }
  return n;
}

/** Parses `--bit-depth`: 8 or 16. */
export function parseBitDepth(value: string): 8 | 16 {
  if (value === '8' || value === '16') return Number(value) as 8 | 16;
  throw new InvalidArgumentError('The bit depth must be 8 or 16.');
}

/** A whole number of pixels >= 0, or a usage error with `message`. */
function parsePixels(value: string, message: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(message);
  return n;
}

/** Parses `--tile`: the tile side in LR pixels, an integer >= 0 (0: the whole image). */
export function parseTileSize(value: string): number {
  return parsePixels(value, 'The tile size must be an integer >= 0 in LR pixels (0: the whole image), e.g. 256.');
}

/** Parses `--overlap`: the context around each tile in LR pixels, an integer >= 0. */
export function parseOverlap(value: string): number {
  return parsePixels(value, 'The overlap must be an integer >= 0 in LR pixels, e.g. 40.');
}

/** The tiling options shared by `downscale` and `upscale`. */
export interface TilingFlags {
  tile: number;
  overlap?: number;
  verbose?: boolean;
}

/** Adds `--tile`, `--overlap` and `--verbose` to a command. */
export function addTilingOptions(command: Command): Command {
  return command
    .option('--tile <px>', 'tile side in LR pixels; 0 processes the whole image at once (more memory)', parseTileSize, DEFAULT_TILE_SIZE)
    .option(
      '--overlap <px>',
      "context around each tile in LR pixels (default: the model's receptive field, which makes tiles exact; less is faster, seams are blended)",
      parseOverlap,
    )
    .option('--verbose', 'also print the tiling and the peak tensor memory of each image');
}

/**
 * The `--verbose` addition to an image's status line, e.g.
 * `, 4 tiles of 256 px (overlap 40 px), peak tensor memory 160.2 MB (159.2 MB above the start)`.
 */
export function tilingNote(tiles: number, tile: number, overlap: number, peakBytes: number, startBytes: number): string {
  const layout = tiles === 1 ? '1 tile' : `${tiles} tiles of up to ${tile} px (overlap ${overlap} px)`;
  return `, ${layout}, peak tensor memory ${formatBytes(peakBytes)} (${formatBytes(peakBytes - startBytes)} above the model's weights)`;
}

/**
 * A `TileMemoryError` from the rescale functions (a tile too large for the memory there
 * is) in the CLI's words, naming the `--tile` that fits, and a `TileWorkError` (tiles so much
 * smaller than their overlap that the pass would compute the image too many times over)
 * naming `--tile` and `--overlap`; any other error as it is. Recognised by name, so that this
 * module does not load TensorFlow.js.
 */
export function withTileAdvice(e: unknown): unknown {
  if (e instanceof Error && e.name === 'TileWorkError') {
    return new Error(e.message.replace(/; use a larger tile size( or a smaller overlap)?$/, (_, overlap) => `; use a larger --tile${overlap ? ' or a smaller --overlap' : ''}`), { cause: e });
  }
  if (!(e instanceof Error) || e.name !== 'TileMemoryError') return e;
  const { suggestedTileSize, problem } = e as Error & { suggestedTileSize: number; problem: string };
  const fix = suggestedTileSize > 0 ? `use --tile ${suggestedTileSize} or less` : 'use a smaller --overlap';
  return new Error(`${problem}; ${fix}`, { cause: e });
}

/** `--force` of the commands that write files: without it an output that exists is refused before any work. */
export function addForceOption(command: Command): Command {
  return command.option('-f, --force', 'replace output files that already exist (never an input, a file of the model, a directory or a device); without it irn refuses them before any work');
}
