'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const a = require('../a/index.js');
const b1 = require('../b1/index.js');
const c = require('../c/index.js');

const base = (taskId, extra = {}) => ({
  workflow_id: 'wf-7', task_id: taskId, attempt: 1, idempotency_key: `wf-7:${taskId}:1`, input: {}, dependencies: {}, ...extra,
});

test('A returns the workflow metadata and the data set', async () => {
  const out = await a.handler(base('A', { input: { data: [2, 1], region: 'eu', simulate: {} } }));
  assert.equal(out.workflow_id, 'wf-7');
  assert.equal(out.idempotency_key, 'wf-7:A:1');
  assert.deepEqual(out.input_keys, ['data', 'region']);
  assert.deepEqual(out.data, [2, 1]);
  assert.match(out.generated_at, /^\d{4}-\d\d-\d\dT/);
});

test('A falls back to its default data set', async () => {
  const out = await a.handler(base('A'));
  assert.equal(out.data.length, 10);
});

test("B1 sorts and sums A's data", async () => {
  const out = await b1.handler(base('B1', { dependencies: { A: { data: [3, 1, 2] } } }));
  assert.deepEqual(out, { task: 'B1', count: 3, sum: 6, sorted: [1, 2, 3] });
});

test('C aggregates the outputs of B1, B2 and B3', async () => {
  const out = await c.handler(base('C', {
    dependencies: {
      B1: { count: 3, sum: 6 },
      B2: { count: 3, mean: 2, min: 1, max: 3 },
      B3: { sha256: 'abc' },
    },
  }));
  assert.deepEqual(out.sources, ['B1', 'B2', 'B3']);
  assert.deepEqual(out.report, { count: 3, sum: 6, mean: 2, min: 1, max: 3, sha256: 'abc' });
});

test('every Node task honours input.simulate for its own task id', async () => {
  for (const [handler, id] of [[a.handler, 'A'], [b1.handler, 'B1'], [c.handler, 'C']]) {
    const e = base(id, { input: { simulate: { [id]: { fail_attempts: 1 } } } });
    await assert.rejects(handler(e), { name: 'SimulatedFailure' });
    await handler({ ...e, attempt: 2 });
  }
});
