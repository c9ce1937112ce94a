'use strict';
// The report example's aggregate (Node.js): merges the chunk summaries into the report.
const test = require('node:test');
const assert = require('node:assert/strict');
const aggregate = require('../report-aggregate/index.js');

const summary = (chunk, orders, byRegion, byProduct, largest) => ({
  chunk,
  orders,
  revenue_cents: Object.values(byRegion).reduce((sum, r) => sum + r.revenue_cents, 0),
  by_region: byRegion,
  by_product: byProduct,
  largest_order: largest,
});

const event = (dependencies) => ({ workflow_id: 'wf-1', task_id: 'aggregate', attempt: 1, input: {}, dependencies });

test('aggregate merges the chunks into totals, shares, top products and the largest order', async () => {
  const out = await aggregate.handler(
    event({
      split: { chunks: [[], []], orders: 3 }, // what the summaries must account for
      'summarize-2': summary(1, 1, { NA: { orders: 1, revenue_cents: 9995 } }, { mouse: { quantity: 5, revenue_cents: 9995 } }, { order_id: 'o-2', revenue_cents: 9995 }),
      'summarize-1': summary(0, 2, { EU: { orders: 2, revenue_cents: 261799 } }, { laptop: { quantity: 2, revenue_cents: 259800 }, mouse: { quantity: 1, revenue_cents: 1999 } }, { order_id: 'o-1', revenue_cents: 259800 }),
    }),
    { awsRequestId: 'req-1' },
  );
  assert.equal(out.request_id, 'req-1');
  assert.deepEqual(out.report, {
    chunks: 2,
    orders: 3,
    revenue: '2717.94',
    average_order: '905.98',
    by_region: [
      { region: 'EU', orders: 2, revenue: '2617.99', share_percent: 96.3 },
      { region: 'NA', orders: 1, revenue: '99.95', share_percent: 3.7 },
    ],
    top_products: [
      { product: 'laptop', quantity: 2, revenue: '2598.00' },
      { product: 'mouse', quantity: 6, revenue: '119.94' },
    ],
    largest_order: { order_id: 'o-1', revenue: '2598.00' },
  });
  assert.equal(out.summary.split('\n')[0], '3 orders, revenue 2717.94 (average 905.98)');
});

test('aggregate without any chunk summary fails the task', async () => {
  await assert.rejects(aggregate.handler(event({ split: { chunks: [[]], orders: 0 } }), {}), /at least one chunk summary/);
  await assert.rejects(aggregate.handler(event({ 'summarize-1': summary(0, 0, {}, {}, null) }), {}), /needs split/);
});

test('a chunk without its summary fails the task instead of a short report', async () => {
  const one = summary(0, 1, { EU: { orders: 1, revenue_cents: 100 } }, { pen: { quantity: 1, revenue_cents: 100 } }, null);
  await assert.rejects(
    aggregate.handler(event({ split: { chunks: [[], [], []], orders: 1 }, 'summarize-1': one }), {}),
    /summaries of chunks \[0\] but split made chunks \[0,1,2\]/,
  );
  await assert.rejects(
    aggregate.handler(event({ split: { chunks: [[]], orders: 2 }, 'summarize-1': one }), {}),
    /the summaries count 1 orders, split kept 2/,
  );
});

test('aggregate is an async two-argument handler, as nodejs24.x requires', () => {
  assert.equal(aggregate.handler.constructor.name, 'AsyncFunction');
  assert.equal(aggregate.handler.length, 2);
});
