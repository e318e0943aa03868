import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fetchBytesWithin, readResponseBytes } from './read-body.js';

/** A body of `chunks` chunks of `size` bytes (endless when `chunks` is Infinity); counts what was pulled. */
function stream(size: number, chunks: number) {
  const state = { pulled: 0, cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled >= chunks) return controller.close();
      state.pulled++;
      controller.enqueue(new Uint8Array(size).fill(state.pulled & 0xff));
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { body, state };
}

describe('readResponseBytes', () => {
  it('reads a body within the limit, in order', async () => {
    const { body } = stream(100, 3);
    const bytes = await readResponseBytes(new Response(body), 300, 'x.png');
    assert.equal(bytes.length, 300);
    assert.deepEqual([bytes[0], bytes[100], bytes[299]], [1, 2, 3]);
    assert.deepEqual(await readResponseBytes(new Response(new Uint8Array([7, 8])), 2, 'y'), new Uint8Array([7, 8]));
  });

  it('refuses a body whose Content-Length is over the limit before reading it', async () => {
    const { body, state } = stream(100, 3);
    const response = new Response(body, { headers: { 'content-length': '300' } });
    await assert.rejects(readResponseBytes(response, 299, 'https://a.example/x.png'), /https:\/\/a\.example\/x\.png is larger than the 299 bytes allowed/);
    assert.ok(state.pulled <= 1 && state.cancelled, `pulled ${state.pulled}, cancelled ${state.cancelled}`);
  });

  it('cuts off a server that sends without end (or lies in a compressed Content-Length) at the limit', async () => {
    const endless = stream(1000, Infinity);
    await assert.rejects(readResponseBytes(new Response(endless.body), 50_000, 'endless'), /endless is larger than the 50000 bytes allowed/);
    assert.ok(endless.state.cancelled && endless.state.pulled <= 52, `pulled ${endless.state.pulled} chunks`);
    const lying = stream(1000, 10);
    const response = new Response(lying.body, { headers: { 'content-length': '10', 'content-encoding': 'gzip' } });
    await assert.rejects(readResponseBytes(response, 5000, 'lying'), /lying is larger/);
  });

  it('refuses a bad limit', () => {
    assert.throws(() => readResponseBytes(new Response(''), -1, 'z'), RangeError);
    assert.throws(() => readResponseBytes(new Response(''), 1.5, 'z'), RangeError);
  });
});

describe('fetchBytesWithin', () => {
  const url = 'https://a.example/x.png';
  const serve = (response: () => Response) => (async () => response()) as unknown as typeof fetch;

  it('returns the body and its Content-Type, passing the signal to the fetch', async () => {
    let seen: RequestInit | undefined;
    const fetchFn = (async (_: string, init?: RequestInit) => ((seen = init), new Response(new Uint8Array([1, 2, 3]), { headers: { 'content-type': 'image/webp' } }))) as unknown as typeof fetch;
    const controller = new AbortController();
    const { bytes, type } = await fetchBytesWithin(url, fetchFn, 3, { signal: controller.signal });
    assert.deepEqual([[...bytes], type, seen?.signal], [[1, 2, 3], 'image/webp', controller.signal]);
    assert.equal((await fetchBytesWithin(url, serve(() => new Response(new Uint8Array(1))), 1)).type, '');
  });

  it('words each failure in one line naming the file: a failed fetch, a status, a body cut short, a body over the bound', async () => {
    const refused = (async () => {
      throw new TypeError('Failed to fetch');
    }) as unknown as typeof fetch;
    await assert.rejects(fetchBytesWithin(url, refused, 10), { message: `could not download ${url}: Failed to fetch` });
    await assert.rejects(fetchBytesWithin(url, serve(() => new Response('gone', { status: 404 })), 10), { message: `could not download ${url}: HTTP 404` });
    // A connection lost mid-body (as a server whose Content-Length says more than it sends).
    const cut = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(4));
        controller.error(new TypeError('network error'));
      },
    });
    await assert.rejects(fetchBytesWithin(url, serve(() => new Response(cut)), 10), { message: `could not download ${url}: network error` });
    const { body, state } = stream(100, Infinity);
    await assert.rejects(fetchBytesWithin(url, serve(() => new Response(body)), 250), { message: `${url} is larger than the 250 bytes allowed` });
    assert.ok(state.cancelled, 'the body was not cancelled');
    // A caller's own words and error.
    await assert.rejects(fetchBytesWithin(url, serve(() => new Response('gone', { status: 500 })), 10, { what: 'the LR' }), { message: 'could not download the LR: HTTP 500' });
    const mine = new RangeError('mine');
    await assert.rejects(fetchBytesWithin(url, serve(() => new Response(new Uint8Array(11))), 10, { tooBig: () => mine }), (e) => e === mine);
    await assert.rejects(fetchBytesWithin(url, serve(() => new Response('')), -1), RangeError);
  });

  it('rejects with the reason of the signal when aborted during the fetch or the body', async () => {
    const reason = new DOMException('stopped', 'AbortError');
    const controller = new AbortController();
    const stalls = (async (_: string, init?: RequestInit) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))))) as unknown as typeof fetch;
    const during = fetchBytesWithin(url, stalls, 10, { signal: controller.signal });
    controller.abort(reason);
    await assert.rejects(during, (e) => e === reason);
    const second = new AbortController();
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        second.signal.addEventListener('abort', () => c.error(new TypeError('body aborted')));
      },
    });
    const reading = fetchBytesWithin(url, serve(() => new Response(body)), 10, { signal: second.signal });
    setTimeout(() => second.abort(reason), 10);
    await assert.rejects(reading, (e) => e === reason);
  });
});
