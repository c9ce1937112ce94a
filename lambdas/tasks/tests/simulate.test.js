'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { controls, pad, simulate } = require('../shared/simulate');

const event = (simulateControls, attempt = 1) => ({
  workflow_id: 'wf-1', task_id: 'B1', attempt, idempotency_key: `wf-1:B1:${attempt}`,
  input: { simulate: { B1: simulateControls } }, dependencies: {},
});

test('no controls: the task produces its output unchanged', async () => {
  const out = await simulate({ task_id: 'A', attempt: 1, input: {} }, async () => ({ ok: true }));
  assert.deepEqual(out, { ok: true });
});

test('controls of another task do not apply', async () => {
  const e = { task_id: 'A', attempt: 1, input: { simulate: { B1: { fail_attempts: 9 } } } };
  assert.deepEqual(await simulate(e, async () => ({ ok: 1 })), { ok: 1 });
});

test('fail_attempts fails attempts 1..N and lets N+1 succeed', async () => {
  for (const attempt of [1, 2]) {
    await assert.rejects(simulate(event({ fail_attempts: 2 }, attempt), async () => ({})), {
      name: 'SimulatedFailure', message: /attempt \d \(fail_attempts=2\)/,
    });
  }
  assert.deepEqual(await simulate(event({ fail_attempts: 2 }, 3), async () => ({ ok: true })), { ok: true });
});

test('sleep_ms waits before answering', async () => {
  const started = Date.now();
  await simulate(event({ sleep_ms: 60 }), async () => ({}));
  assert.ok(Date.now() - started >= 55);
});

test('sleep_attempts limits the sleep to attempts 1..N', async () => {
  const slow = Date.now();
  await simulate(event({ sleep_ms: 200, sleep_attempts: 1 }, 1), async () => ({}));
  assert.ok(Date.now() - slow >= 190);
  const fast = Date.now();
  await simulate(event({ sleep_ms: 5000, sleep_attempts: 1 }, 2), async () => ({}));
  assert.ok(Date.now() - fast < 1000, 'attempt 2 slept');
  assert.throws(() => controls(event({ sleep_attempts: 'once' })), /simulate\.B1\.sleep_attempts/);
});

test('output_bytes pads the output to about N bytes', async () => {
  const out = await simulate(event({ output_bytes: 100000 }), async () => ({ task: 'B1' }));
  const size = Buffer.byteLength(JSON.stringify(out));
  assert.ok(size >= 99000 && size <= 101000, `size ${size}`);
  assert.equal(out.task, 'B1');
});

test('pad never shrinks an output larger than asked', () => {
  assert.deepEqual(pad({ a: 'x'.repeat(50) }, 10), { a: 'x'.repeat(50) });
});

test('a malformed control is a clear error', () => {
  assert.throws(() => controls(event({ fail_attempts: 'many' })), /input\.simulate\.B1\.fail_attempts/);
});
