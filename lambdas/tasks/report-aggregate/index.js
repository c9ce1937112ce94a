'use strict';
// Report example, step 3 (Node.js): merges the chunk summaries (the outputs of summarize-1..n, in
// event.dependencies) into one sales report: totals, each region's share, the top products and the
// largest order, plus a few lines of text. Amounts stay integer cents until they are formatted.

const money = (cents) => (cents / 100).toFixed(2);

function merge(summaries) {
  const regions = {};
  const products = {};
  let orders = 0;
  let revenue = 0;
  let largest = null;
  for (const s of summaries) {
    orders += s.orders;
    revenue += s.revenue_cents;
    for (const [name, r] of Object.entries(s.by_region)) {
      const into = (regions[name] ??= { orders: 0, revenue_cents: 0 });
      into.orders += r.orders;
      into.revenue_cents += r.revenue_cents;
    }
    for (const [name, p] of Object.entries(s.by_product)) {
      const into = (products[name] ??= { quantity: 0, revenue_cents: 0 });
      into.quantity += p.quantity;
      into.revenue_cents += p.revenue_cents;
    }
    if (s.largest_order && (!largest || s.largest_order.revenue_cents > largest.revenue_cents)) {
      largest = s.largest_order;
    }
  }
  return { orders, revenue, regions, products, largest };
}

exports.handler = async (event, context) => {
  const dependencies = event.dependencies || {};
  // split says how many chunks it made and how many orders it kept: the summaries must account for
  // every one, or the report would be short without saying so (a definition with a summarize task
  // too few, or chunks and tasks that disagree).
  const split = dependencies.split;
  if (!split || !Array.isArray(split.chunks) || !Number.isInteger(split.orders)) {
    throw new Error('aggregate needs split among its dependencies: the chunks it made and the orders it kept');
  }
  const summaries = Object.entries(dependencies)
    .filter(([id, d]) => id !== 'split' && d && Number.isInteger(d.chunk))
    .map(([, d]) => d);
  if (summaries.length === 0) {
    throw new Error('aggregate needs at least one chunk summary among its dependencies');
  }
  summaries.sort((a, b) => a.chunk - b.chunk);
  const got = summaries.map((s) => s.chunk).join(',');
  const made = split.chunks.map((_, i) => i).join(',');
  if (got !== made) {
    throw new Error(
      `aggregate has summaries of chunks [${got}] but split made chunks [${made}]: ` +
        'each chunk needs exactly one summarize task (split input.chunks = the number of summarize tasks)',
    );
  }
  const { orders, revenue, regions, products, largest } = merge(summaries);
  if (orders !== split.orders) {
    throw new Error(`the summaries count ${orders} orders, split kept ${split.orders}`);
  }
  const byRegion = Object.entries(regions)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([region, r]) => ({
      region,
      orders: r.orders,
      revenue: money(r.revenue_cents),
      share_percent: revenue ? Math.round((r.revenue_cents / revenue) * 1000) / 10 : 0,
    }));
  const topProducts = Object.entries(products)
    .sort(([an, a], [bn, b]) => b.revenue_cents - a.revenue_cents || an.localeCompare(bn))
    .slice(0, 3)
    .map(([product, p]) => ({ product, quantity: p.quantity, revenue: money(p.revenue_cents) }));
  const report = {
    chunks: summaries.length,
    orders,
    revenue: money(revenue),
    average_order: orders ? money(Math.round(revenue / orders)) : null,
    by_region: byRegion,
    top_products: topProducts,
    largest_order: largest ? { order_id: largest.order_id, revenue: money(largest.revenue_cents) } : null,
  };
  const lines = [
    `${orders} orders, revenue ${report.revenue} (average ${report.average_order ?? '-'})`,
    ...byRegion.map((r) => `${r.region}: ${r.revenue} (${r.share_percent}%)`),
    `top product: ${topProducts[0] ? `${topProducts[0].product} ${topProducts[0].revenue}` : '-'}`,
  ];
  return { workflow_id: event.workflow_id, request_id: context?.awsRequestId ?? null, report, summary: lines.join('\n') };
};
