// Reads what <irn-image> needs from an LR PNG before anything heavy loads: its size (IHDR)
// and the `irn` text chunk that `irn downscale` writes (packages/core/src/image/lr-metadata.ts:
// {"scale", "width", "height"} of the original). No CRC checks and no decompression: the
// restoring itself decodes the file exactly (through @irn/core), and a malformed file fails there.

/** The LR image's size and, when present, the original's from its `irn` chunk. */
export interface LrPngInfo {
  /** The file's format (this reader makes only `'png'`; the element reads WebP, JPEG and AVIF through @irn/core); unset while unknown. */
  format?: 'png' | 'webp' | 'jpeg' | 'avif';
  width: number;
  height: number;
  /**
   * Scale and original size from the `irn` text chunk (null when there is none or it is
   * malformed), and the preset the LR was made for (`model`, when the chunk names a plain
   * preset name).
   */
  original: { scale: number; width: number; height: number; model?: string } | null;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const LR_TEXT_KEY = 'irn';

/** The {@link LrPngInfo} of a PNG file, or null when `bytes` is not a PNG. */
export function readLrPngInfo(bytes: Uint8Array): LrPngInfo | null {
  if (bytes.length < 33 || !SIGNATURE.every((b, i) => bytes[i] === b)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0;
  let height = 0;
  let original: LrPngInfo['original'] = null;
  for (let at = 8; at + 8 <= bytes.length; ) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const data = bytes.subarray(at + 8, Math.min(bytes.length, at + 8 + length));
    if (type === 'IHDR' && data.length >= 8) {
      width = view.getUint32(at + 8);
      height = view.getUint32(at + 12);
    } else if (type === 'tEXt' || type === 'iTXt') {
      original ??= parseIrnText(type, data);
    } else if (type === 'IDAT' || type === 'IEND') {
      // encodePng writes text chunks before the image data; nothing of ours comes later.
      break;
    }
    at += 12 + length;
  }
  return width > 0 && height > 0 ? { format: 'png', width, height, original } : null;
}

function parseIrnText(type: string, data: Uint8Array): LrPngInfo['original'] {
  // The keyword is 1 to 79 bytes: only those are looked at (spreading a stranger's long run of
  // bytes into String.fromCharCode overflowed the stack).
  const nul = data.subarray(0, 80).indexOf(0);
  if (nul < 0 || String.fromCharCode(...data.subarray(0, nul)) !== LR_TEXT_KEY) return null;
  let text: string;
  if (type === 'tEXt') {
    text = new TextDecoder('latin1').decode(data.subarray(nul + 1));
  } else {
    // iTXt: keyword NUL, compression flag, method, language NUL, translated keyword NUL, text.
    if (data[nul + 1] !== 0) return null;
    let p = data.indexOf(0, nul + 3);
    if (p < 0) return null;
    p = data.indexOf(0, p + 1);
    if (p < 0) return null;
    text = new TextDecoder().decode(data.subarray(p + 1));
  }
  try {
    const { scale, width, height, model } = JSON.parse(text) as Record<string, unknown>;
    const ok = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
    if (!ok(scale) || !ok(width) || !ok(height)) return null;
    // A name only (as @irn/core's PRESET_NAME): never a path or URL from a file.
    return typeof model === 'string' && /^[a-z0-9][a-z0-9-]{0,63}$/.test(model) ? { scale, width, height, model } : { scale, width, height };
  } catch {
    return null;
  }
}
