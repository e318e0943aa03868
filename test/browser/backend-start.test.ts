// A backend whose start never settles (here: tfjs-backend-wasm's .wasm file from a server that
// stalls) counts as failed after `startTimeoutMs`, instead of holding the page (and every
// <irn-image>, which restores through one queue) for ever; afterwards another backend starts
// and computes, and a Rescaler in the page and in a worker fails with one line naming the
// timeout. Its own page: tfjs's backend state is global to it.
import * as tf from '@tensorflow/tfjs-core';
// Loaded before the tests, so that the bounds below time the start, not this dev server
// serving the modules' files one by one (tfjs-backend-webgl is left to load in the last test).
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { activateBackend, Rescaler } from '../../packages/core/src/browser.js';
import { assert, rejection, WEIGHTS_URL } from './fixtures/rescaler-fixtures.js';

/**
 * The stalling server under the page's other host name, so that its never-ending requests (two
 * per try: tfjs streams the .wasm, then fetches it again) take connections from that host's pool
 * of six, not from the one the page loads its modules and weights through.
 */
const STALLING = (() => {
  const url = new URL('/stall-for-tests/', location.href);
  url.hostname = url.hostname === 'localhost' ? '127.0.0.1' : 'localhost';
  return url.href;
})();
const LINE = `the wasm backend did not start within 1.5 s (its .wasm files were looked for in ${STALLING}; set wasmPaths to where they are served)`;

describe('a backend start that never settles', () => {
  it('fails after startTimeoutMs with one line, and then the cpu backend starts and computes', async () => {
    const t0 = performance.now();
    const result = await activateBackend('wasm', { wasmPaths: STALLING, startTimeoutMs: 1500 });
    const ms = performance.now() - t0;
    assert(!result.ok && result.reason === LINE, JSON.stringify(result));
    assert(ms >= 1400 && ms < 5000, `${ms} ms`);
    const cpu = await Promise.race([activateBackend('cpu'), new Promise<string>((r) => setTimeout(() => r('still pending after 5 s'), 5000))]);
    assert(typeof cpu !== 'string' && cpu.ok, JSON.stringify(cpu));
    await Promise.race([tf.ready(), new Promise((_, reject) => setTimeout(() => reject(new Error('tf.ready() still pending after 5 s')), 5000))]);
    assert(tf.getBackend() === 'cpu', tf.getBackend());
    const sum = tf.add(tf.scalar(1), tf.scalar(2));
    assert((await sum.data())[0] === 3, 'tf.add on cpu');
    sum.dispose();
  });

  it('a backend module that loads only after the timeout does not take over then', async () => {
    assert(tf.getBackend() === 'cpu', tf.getBackend());
    // 1 ms: far less than the dev server takes to serve tfjs-backend-webgl's files.
    const result = await activateBackend('webgl', { startTimeoutMs: 1 });
    assert(!result.ok && result.reason === 'the webgl backend did not start within 0.001 s', JSON.stringify(result));
    await import('@tensorflow/tfjs-backend-webgl');
    await new Promise((r) => setTimeout(r, 500));
    assert(tf.getBackend() === 'cpu', `the late module switched the backend to ${tf.getBackend()}`);
  });

  it('a Rescaler asked for wasm there fails with that line, in the page and in a worker', async () => {
    for (const worker of [false, true]) {
      const t0 = performance.now();
      const e = await rejection(Rescaler.create({ model: 'irn-x2', weightsUrl: WEIGHTS_URL, backend: 'wasm', wasmPaths: STALLING, startTimeoutMs: 1500, worker }), `worker ${worker}`);
      const ms = performance.now() - t0;
      assert(e.message.includes(LINE), `worker ${worker}: ${e.message}`);
      assert(ms < 10_000, `worker ${worker}: ${ms} ms`);
    }
  });
});
