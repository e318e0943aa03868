import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from './rng.js';
import { learningRateAt } from './schedule.js';

test('multistep halves at each milestone (IRN: 100k, 200k, ...)', () => {
  const s = { kind: 'multistep', base: 2e-4, milestones: [100, 200] } as const;
  assert.equal(learningRateAt(s, 0), 2e-4);
  assert.equal(learningRateAt(s, 99), 2e-4);
  assert.equal(learningRateAt(s, 100), 1e-4);
  assert.equal(learningRateAt(s, 250), 5e-5);
});

test('cosine warms up linearly, then falls from base to min', () => {
  const s = { kind: 'cosine', base: 1, min: 0.1, total: 110, warmup: 10 } as const;
  assert.equal(learningRateAt(s, 0), 0.1);
  assert.equal(learningRateAt(s, 9), 1);
  assert.ok(Math.abs(learningRateAt(s, 60) - 0.55) < 1e-12);
  assert.ok(Math.abs(learningRateAt(s, 110) - 0.1) < 1e-12);
  assert.ok(Math.abs(learningRateAt(s, 500) - 0.1) < 1e-12);
});

test('Rng resumes exactly from its state', () => {
  const a = new Rng(42);
  for (let i = 0; i < 5; i++) a.next();
  const b = Rng.fromState(a.state);
  const xs = Array.from({ length: 10 }, () => a.next());
  assert.deepEqual(Array.from({ length: 10 }, () => b.next()), xs);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});
