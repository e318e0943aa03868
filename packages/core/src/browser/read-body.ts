import { concatBytes } from '../image/bytes.js';
import { limitPassed, type Limits } from '../limits.js';

/** Bytes a download may still bring (shared by downloads that must fit together), and what bounds them, for messages. */
export interface ByteBudget {
  left: number;
  of: string;
}

/**
 * The body of `response`, refused with `tooBig()` as soon as it passes `budget.left` bytes:
 * before reading when its Content-Length says so (a compressed body's header counts the
 * compressed bytes, so the stream is counted too), else while it streams, so that a server
 * that sends without end costs at most the budget. Takes what it read off `budget.left`.
 */
export async function readBodyWithin(response: Response, budget: ByteBudget, tooBig: () => Error): Promise<Uint8Array> {
  const encoding = response.headers.get('content-encoding');
  const length = Number(response.headers.get('content-length') ?? NaN);
  if ((encoding == null || encoding === 'identity') && length > budget.left) {
    await response.body?.cancel().catch(() => undefined);
    throw tooBig();
  }
  if (response.body == null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (value.byteLength > budget.left) {
      await reader.cancel().catch(() => undefined);
      throw tooBig();
    }
    budget.left -= value.byteLength;
    parts.push(value);
  }
  return parts.length === 1 ? parts[0] : concatBytes(parts);
}

/**
 * The body of `response` as bytes, at most `maxBytes` of them (see {@link readBodyWithin}):
 * for files from strangers, e.g. an image URL a page did not choose.
 * @throws Error naming `what` and the limit when the body is larger.
 */
export function readResponseBytes(response: Response, maxBytes: number, what: string): Promise<Uint8Array> {
  if (!(Number.isSafeInteger(maxBytes) && maxBytes >= 0)) throw new RangeError(`maxBytes must be a whole number >= 0, got ${maxBytes}`);
  return readBodyWithin(response, { left: maxBytes, of: `${maxBytes} bytes` }, () => tooLarge(what, maxBytes));
}

function tooLarge(what: string, maxBytes: number): Error {
  return new Error(`${what} is larger than the ${maxBytes} bytes allowed`);
}

/**
 * The body at `url`, fetched with `fetchFn`, of at most `maxBytes` bytes (see
 * {@link readBodyWithin}): a server that sends more, or sends without end, is cut off there
 * instead of filling the page's memory. `type` is the response's Content-Type, or ''.
 * `options.signal` stops the fetch and the body's reading (the call rejects with its reason).
 * Messages name the file as `options.what` (default: the URL).
 * @throws Error `could not download <what>: ...` when the fetch or the body's reading fails or
 *   the status is not 2xx; `options.tooBig()` (default: Error `<what> is larger than the
 *   <maxBytes> bytes allowed`) when the body is larger.
 */
export async function fetchBytesWithin(
  url: string,
  fetchFn: typeof fetch,
  maxBytes: number,
  options: { signal?: AbortSignal; what?: string; tooBig?: () => Error } = {},
): Promise<{ bytes: Uint8Array; type: string }> {
  if (!(Number.isSafeInteger(maxBytes) && maxBytes >= 0)) throw new RangeError(`maxBytes must be a whole number >= 0, got ${maxBytes}`);
  const { signal, what = url, tooBig = () => tooLarge(what, maxBytes) } = options;
  const failed = (e: unknown): Error => {
    if (signal?.aborted) return signal.reason ?? e;
    return new Error(`could not download ${what}: ${(e as Error).message}`, { cause: e });
  };
  let response: Response;
  try {
    response = await fetchFn(url, signal == null ? undefined : { signal });
  } catch (e) {
    throw failed(e);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new Error(`could not download ${what}: HTTP ${response.status}`);
  }
  let bytes: Uint8Array;
  let over: Error | null = null;
  try {
    bytes = await readBodyWithin(response, { left: maxBytes, of: `${maxBytes} bytes` }, () => (over = tooBig()));
  } catch (e) {
    // Past the bound is the bound's error; anything else (a connection cut mid-body) is the download's.
    throw e === over ? e : failed(e);
  }
  return { bytes, type: response.headers.get('content-type') ?? '' };
}

/**
 * The body of the image at `url` (see {@link fetchBytesWithin}), of at most
 * `limits.inflatedBytes` bytes: past that, a `LimitError`.
 */
export function fetchImageBytes(url: string, fetchFn: typeof fetch, limits: Limits, signal?: AbortSignal): Promise<{ bytes: Uint8Array; type: string }> {
  const what = `the image ${url}`;
  return fetchBytesWithin(url, fetchFn, limits.inflatedBytes, { signal, what, tooBig: () => limitPassed(limits, 'inflatedBytes', what, 'bytes') });
}
