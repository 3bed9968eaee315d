import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { benchResultsSchema, readableNumber, reportHtml, reportSvg, type BenchResults } from '../../bench/lib/report.js';
import { atLeast, atMost } from '../../bench/lib/table.js';

const results: BenchResults = {
  startedAt: '2026-12-01T17:03:10.159Z',
  seconds: 92.4,
  mode: 'quick',
  machine: { cpus: 2, cpuModel: 'Intel(R) Xeon(R) Processor', memGiB: 23.5, node: 'v20.20.2' },
  rows: [
    { scenario: '1:1', metric: 'durable sends/s at 5000 msg/s offered', value: 4987.2, unit: 'msg/s' },
    { scenario: '1:1', metric: 'send->receive p50 at 5000 msg/s', value: 3.42, unit: 'ms' },
    { scenario: '1:1', metric: 'send->receive p99 at 5000 msg/s', value: 31.5, unit: 'ms', ...atMost(31.5, 25) },
    { scenario: '1:1', metric: 'durable sends/s at saturation', value: 12_345.6, unit: 'msg/s', ...atLeast(12_345.6, 10_000) },
    { scenario: 'fan-out', metric: 'deliveries/s (ours)', value: 181_000, unit: 'deliv/s' },
    { scenario: 'fan-out', metric: 'delivery latency p99 (ours)', value: 48, unit: 'ms' },
    { scenario: 'fan-out', metric: 'deliveries/s (Centrifugo)', value: null, unit: 'deliv/s', note: 'go not found' },
    { scenario: 'fan-out', metric: 'deliveries/s (bare ws broadcast)', value: 420_000, unit: 'deliv/s' },
    { scenario: 'rebuild', metric: 'events/s rebuilding 50,000 events', value: 1992.8, unit: 'events/s', ...atLeast(1992.8, 50_000) },
    { scenario: 'conv list', metric: 'GET /v1/conversations?limit<50 & more p50', value: 1.25, unit: 'ms' },
    { scenario: 'conv list', metric: 'GET /v1/conversations?limit<50 & more p99', value: 4.5, unit: 'ms', ...atMost(4.5, 10) },
  ],
  details: { direct: { loadavg1Before: 1.52 }, rebuild: { loadavg1Before: 0.31, events: 50_000 } },
};

const MET = '#2e8b57';
const UNMET = '#d64545';

/**
 * Well-formed XML, checked the strict way: every tag closed in order, attributes quoted, no bare
 * `<` or `&` in text or attribute values, one root element.
 */
function assertWellFormed(xml: string): void {
  const tokens = xml.trim().match(/<[^>]*>|[^<]+/g) ?? [];
  const open: string[] = [];
  let roots = 0;
  for (const token of tokens) {
    if (!token.startsWith('<')) {
      assert.doesNotMatch(token, /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);)/i, `bare & in text: ${token}`);
      assert.ok(open.length > 0 || token.trim() === '', `text outside the root: ${token}`);
      continue;
    }
    const tag = token.match(/^<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>$/);
    assert.ok(tag, `malformed tag: ${token}`);
    const [, closing, name, attrs, selfClosing] = tag;
    assert.doesNotMatch(attrs!, /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);)/i, `bare & in attributes: ${token}`);
    if (closing) assert.equal(open.pop(), name, `</${name}> closes the wrong element`);
    else if (!selfClosing) {
      if (open.length === 0) roots++;
      open.push(name!);
    } else if (open.length === 0) roots++;
  }
  assert.deepEqual(open, [], 'unclosed elements');
  assert.equal(roots, 1, 'one root element');
}

const assertIncludes = (doc: string, part: string) => assert.ok(doc.includes(part), `missing: ${part}`);

/** The text of every <text> element, entities decoded: what a reader sees. */
const texts = (svg: string) =>
  [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) =>
    m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&'),
  );

/** Each drawn bar with its fill, in drawing order. */
const bars = (svg: string) => [...svg.matchAll(/<rect class="bar"[^>]*fill="([^"]+)"/g)].map((m) => m[1]!);

describe('benchmark report', () => {
  const svg = reportSvg(results);
  const html = reportHtml(results);

  it('is one well-formed SVG image, and each chart in the HTML page is well-formed too', () => {
    assertWellFormed(svg);
    const inline = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    assert.ok(inline.length >= 5, `charts in the page: ${inline.length}`);
    for (const chart of inline) assertWellFormed(chart);
  });

  it('escapes metric names and keeps them readable', () => {
    assert.ok(!svg.includes('limit<50'), 'a raw < in the SVG');
    assert.ok(!html.includes('limit<50'), 'a raw < in the HTML');
    assertIncludes(svg, 'limit&lt;50 &amp; more');
    assert.ok(texts(svg).includes('GET /v1/conversations?limit<50 & more'), 'the name reads as written');
  });

  it('labels every bar with its value and unit in readable numbers', () => {
    const labels = texts(svg);
    assert.ok(labels.includes('4,987 msg/s'), 'the offered-rate row');
    assert.ok(labels.includes('12,346 msg/s, goal ≥ 10,000 msg/s'), 'the saturation row with its goal');
    assert.ok(labels.includes('181,000 deliv/s'), 'ours');
    assert.ok(labels.includes('420,000 deliv/s'), 'the bare ws reference');
    assert.ok(labels.includes('p50: 3.4 ms'), 'a percentile bar');
    assert.ok(labels.includes('n/a (go not found)'), 'a missing figure says why');
  });

  it('draws a goal marker for every row with a numeric target', () => {
    const goals = svg.match(/<line class="goal"/g) ?? [];
    // 4 targeted rows in the goal charts, and the two latency ones again among the percentiles.
    assert.equal(goals.length, 6);
    assertIncludes(svg, '<title>goal ≥ 50,000 events/s</title>');
    assertIncludes(svg, '<title>goal ≤ 25 ms</title>');
  });

  it('draws the goal across its chart, so figures without a goal of their own read against it', () => {
    const oneToOne = reportSvg({ ...results, rows: results.rows.filter((r) => r.scenario === '1:1' && r.unit === 'msg/s') });
    assert.equal(oneToOne.match(/<line class="goal-line"/g)?.length, 1);
    assert.ok(texts(oneToOne).includes('goal ≥ 10,000 msg/s'), 'the goal line is labelled');
  });

  it('colours met and unmet goals apart, and the references apart from ours', () => {
    const fills = bars(reportSvg({ ...results, rows: results.rows.filter((r) => r.scenario === '1:1' && r.unit === 'msg/s') }));
    assert.deepEqual(fills, ['#3b6fb6', MET]);
    const rebuild = bars(reportSvg({ ...results, rows: results.rows.filter((r) => r.scenario === 'rebuild') }));
    assert.deepEqual(rebuild, [UNMET]);
    const fanout = bars(reportSvg({ ...results, rows: results.rows.filter((r) => r.unit === 'deliv/s') }));
    assert.equal(fanout.length, 2, 'no bar for the missing Centrifugo figure');
    assert.notEqual(fanout[0], fanout[1], 'ours and the bare ws reference');
  });

  it('puts ours and the references side by side in one chart', () => {
    const labels = texts(svg);
    const title = labels.indexOf('fan-out (deliv/s)');
    assert.ok(title >= 0, 'a fan-out throughput chart');
    const names = labels.slice(title).filter((t) => t.startsWith('deliveries/s'));
    assert.deepEqual(names.slice(0, 3), ['deliveries/s (ours)', 'deliveries/s (Centrifugo)', 'deliveries/s (bare ws broadcast)']);
  });

  it('heads the report with the run, the machine and the load at the start of each scenario', () => {
    for (const doc of [svg, html]) {
      assertIncludes(doc, '2026-12-01 17:03 UTC, quick run, 92.4 s');
      assertIncludes(doc, '2 CPUs (Intel(R) Xeon(R) Processor), 23.5 GiB memory, Node v20.20.2');
      assertIncludes(doc, 'direct 1.5, rebuild 0.3');
    }
  });

  it('is self-contained: no scripts, no external resources', () => {
    assert.doesNotMatch(html, /<script|<link|@import|url\(|src=/i);
    assert.doesNotMatch(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, ''), /https?:\/\//);
  });

  it('redraws from latest.json as written: the parsed file renders the same report', () => {
    const reread = benchResultsSchema.parse(JSON.parse(JSON.stringify({ ...results, options: { quick: true, genProcs: 1 } })));
    assert.equal(reportSvg(reread), svg);
  });

  it('writes numbers the way a reader compares them', () => {
    assert.equal(readableNumber(12_345.6), '12,346');
    assert.equal(readableNumber(167.2), '167');
    assert.equal(readableNumber(3.42), '3.4');
    assert.equal(readableNumber(0.0425), '0.043');
    assert.equal(readableNumber(0), '0');
  });
});
