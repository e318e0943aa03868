import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readResponseBytes } from './read-body.js';

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
