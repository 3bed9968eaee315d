import { z } from 'zod';

/**
 * The benchmark report: the object `npm run bench` writes to latest.json, drawn as horizontal bar
 * charts (one SVG image, and one self-contained HTML page with the same charts inline).
 */

const rowSchema = z.object({
  scenario: z.string(),
  metric: z.string(),
  value: z.number().nullable(),
  unit: z.string(),
  target: z.string().optional(),
  ratio: z.number().nullable().optional(),
  note: z.string().optional(),
});

export const benchResultsSchema = z.object({
  startedAt: z.string(),
  seconds: z.number(),
  mode: z.string(),
  machine: z.object({ cpus: z.number(), cpuModel: z.string().optional(), memGiB: z.number(), node: z.string() }),
  rows: z.array(rowSchema),
  details: z.record(z.string(), z.unknown()),
});
export type BenchResults = z.infer<typeof benchResultsSchema>;
type ResultRow = BenchResults['rows'][number];

const loadSchema = z.object({ loadavg1Before: z.number() });

const WIDTH = 1100;
const LABEL_WIDTH = 400;
const VALUE_WIDTH = 230;
const PLOT_WIDTH = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
const BAR_HEIGHT = 18;
const BAR_GAP = 3;
const GROUP_GAP = 12;
const CHART_TOP = 66;
const FONT = 'system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif';
/** About 6.5 px per character at 12 px: longer texts are cut, the full text kept as a tooltip. */
const LABEL_CHARS = 58;
const VALUE_CHARS = 100;

const COLOURS = {
  met: '#2e8b57',
  unmet: '#d64545',
  unknown: '#c9a227',
  ours: '#3b6fb6',
  reference: '#9aa5b1',
  goal: '#222222',
  goalLine: '#9a9a9a',
} as const;
/** The same percentile keeps its colour from chart to chart. */
const PERCENTILE_COLOURS: Record<string, string> = { p50: '#8dbbe8', p90: '#e08a2e', p95: '#7b4fa3', p99: '#1f4e8c', 'p99.9': '#0b2447' };
const OTHER_PERCENTILE = '#6b7280';

interface Goal {
  direction: '>=' | '<=';
  value: number;
}

interface Bar {
  /** Names the bar inside a group of several (e.g. p50); empty when the group is one bar. */
  tag: string;
  value: number | null;
  unit: string;
  colour: string;
  goal?: Goal;
  note?: string;
}

interface BarGroup {
  label: string;
  bars: Bar[];
}

interface LegendItem {
  label: string;
  colour: string;
  /** Drawn as a dashed line rather than a swatch. */
  line?: boolean;
}

interface Chart {
  title: string;
  legend: LegendItem[];
  groups: BarGroup[];
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** 12,345 / 167 / 3.4 / 0.042: as many digits as a reader compares, no more. */
export function readableNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString('en-US');
  // Number() drops the trailing zero: 25 ms, not 25.0 ms.
  if (abs >= 1) return String(Number(value.toFixed(1)));
  return String(Number(value.toPrecision(2)));
}

const withUnit = (value: number, unit: string) => (unit ? `${readableNumber(value)} ${unit}` : readableNumber(value));

/** Only targets of the form ">= N" or "<= N" can be drawn as a goal. */
function parseGoal(target: string | undefined): Goal | undefined {
  const match = target?.match(/^\s*(>=|<=)\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*$/i);
  return match ? { direction: match[1] as Goal['direction'], value: Number(match[2]) } : undefined;
}

const PERCENTILE = /\s*\bp(\d+(?:\.\d+)?)\b/;

const isLatencyPercentile = (row: ResultRow) => row.unit === 'ms' && PERCENTILE.test(row.metric);

/**
 * Comparison rows are named "<figure> (ours)" beside "<figure> (Centrifugo)" etc.: in a chart
 * that has an "(ours)" row, the other parenthesised names are the references.
 */
const OURS = /\(ours\)$/;
const NAMED = /\([^()]+\)$/;

function goalColour(row: ResultRow): string {
  if (row.ratio === null || row.ratio === undefined) return COLOURS.unknown;
  return row.ratio >= 1 ? COLOURS.met : COLOURS.unmet;
}

function figureColour(row: ResultRow, hasOurs: boolean): string {
  if (parseGoal(row.target)) return goalColour(row);
  return hasOurs && NAMED.test(row.metric) && !OURS.test(row.metric) ? COLOURS.reference : COLOURS.ours;
}

function groupBy<T>(items: T[], key: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return [...groups.values()];
}

const barOf = (row: ResultRow, tag: string, colour: string): Bar => ({
  tag,
  value: row.value,
  unit: row.unit,
  colour,
  goal: parseGoal(row.target),
  note: row.value === null ? row.note : undefined,
});

const FIGURE_LEGEND: LegendItem[] = [
  { label: 'goal met', colour: COLOURS.met },
  { label: 'goal not met', colour: COLOURS.unmet },
  { label: 'goal, no ratio', colour: COLOURS.unknown },
  { label: 'ours, no goal', colour: COLOURS.ours },
  { label: 'reference', colour: COLOURS.reference },
];

const GOAL_LEGEND: LegendItem = { label: 'goal', colour: COLOURS.goal, line: true };

/** A legend names only the colours its chart shows. */
function legendFor(bars: Bar[], colours: LegendItem[]): LegendItem[] {
  const shown = colours.filter((item) => bars.some((b) => b.value !== null && b.colour === item.colour));
  return bars.some((b) => b.goal) ? [...shown, GOAL_LEGEND] : shown;
}

/**
 * One chart per scenario and unit. Groups made only of latency percentiles without a goal are left
 * to the percentile charts.
 */
function figureCharts(rows: ResultRow[]): Chart[] {
  return groupBy(rows, (r) => `${r.scenario}\u0000${r.unit}`)
    .filter((group) => group.some((r) => parseGoal(r.target) || !isLatencyPercentile(r)))
    .map((group) => {
      const hasOurs = group.some((r) => OURS.test(r.metric));
      const first = group[0]!;
      const groups = group.map((r) => ({ label: r.metric, bars: [barOf(r, '', figureColour(r, hasOurs))] }));
      return {
        title: first.unit ? `${first.scenario} (${first.unit})` : first.scenario,
        legend: legendFor(groups.flatMap((g) => g.bars), FIGURE_LEGEND),
        groups,
      };
    });
}

/** Per scenario, each latency metric with its percentiles side by side (p50 above p99). */
function percentileCharts(rows: ResultRow[]): Chart[] {
  return groupBy(rows.filter(isLatencyPercentile), (r) => r.scenario).map((scenarioRows) => {
    const tags = [...new Set(scenarioRows.map((r) => `p${r.metric.match(PERCENTILE)![1]}`))].sort(
      (a, b) => Number(a.slice(1)) - Number(b.slice(1)),
    );
    const colourOf = (tag: string) => PERCENTILE_COLOURS[tag] ?? OTHER_PERCENTILE;
    const metrics = groupBy(scenarioRows, (r) => r.metric.replace(PERCENTILE, ''));
    const groups = metrics.map((metricRows) => ({
        label: metricRows[0]!.metric.replace(PERCENTILE, ''),
        bars: metricRows
          .map((r) => ({ row: r, tag: `p${r.metric.match(PERCENTILE)![1]}` }))
          .sort((a, b) => tags.indexOf(a.tag) - tags.indexOf(b.tag))
          .map(({ row, tag }) => barOf(row, tag, colourOf(tag))),
      }));
    return {
      title: `${scenarioRows[0]!.scenario}: latency percentiles (ms)`,
      legend: legendFor(groups.flatMap((g) => g.bars), tags.map((tag) => ({ label: tag, colour: colourOf(tag) }))),
      groups,
    };
  });
}

const text = (x: number, y: number, content: string, attrs = '') => `<text x="${x}" y="${y}"${attrs ? ' ' + attrs : ''}>${escapeXml(content)}</text>`;

const cut = (label: string, chars: number) => (label.length > chars ? label.slice(0, chars - 1) + '…' : label);

/** Text cut to fit, its full wording kept as the tooltip. */
const fitted = (x: number, y: number, content: string, chars: number, attrs: string) =>
  `<g><title>${escapeXml(content)}</title>${text(x, y, cut(content, chars), attrs)}</g>`;

function legendSvg(items: LegendItem[], y: number): string {
  let x = 0;
  const parts = items.map((item) => {
    const mark = item.line
      ? `<line x1="${x + 6}" x2="${x + 6}" y1="${y - 11}" y2="${y + 2}" stroke="${item.colour}" stroke-width="2" stroke-dasharray="4 2"/>`
      : `<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${item.colour}"/>`;
    const part = mark + text(x + 16, y, item.label, 'font-size="12" fill="#444"');
    x += 28 + item.label.length * 7;
    return part;
  });
  return parts.join('');
}

const goalText = (goal: Goal, unit: string) => `goal ${goal.direction === '>=' ? '≥' : '≤'} ${withUnit(goal.value, unit)}`;

function barLabel(bar: Bar): string {
  const value = bar.value === null ? `n/a${bar.note ? ` (${bar.note})` : ''}` : withUnit(bar.value, bar.unit);
  const tagged = bar.tag ? `${bar.tag}: ${value}` : value;
  return bar.goal ? `${tagged}, ${goalText(bar.goal, bar.unit)}` : tagged;
}

function barSvg(bar: Bar, y: number, scale: (v: number) => number): string {
  const width = bar.value === null ? 0 : Math.max(1, scale(bar.value));
  const rect = bar.value === null ? '' : `<rect class="bar" x="${LABEL_WIDTH}" y="${y}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${bar.colour}"/>`;
  const goal = bar.goal
    ? `<line class="goal" x1="${(LABEL_WIDTH + scale(bar.goal.value)).toFixed(1)}" x2="${(LABEL_WIDTH + scale(bar.goal.value)).toFixed(1)}" y1="${y - 3}" y2="${y + BAR_HEIGHT + 3}" stroke="${COLOURS.goal}" stroke-width="2" stroke-dasharray="4 2"><title>${escapeXml(goalText(bar.goal, bar.unit))}</title></line>`
    : '';
  // The white halo keeps the label readable where it crosses a goal marker.
  const label = fitted(LABEL_WIDTH + width + 6, y + 13, barLabel(bar), VALUE_CHARS, `class="value" font-size="12" fill="${bar.value === null ? '#777' : '#222'}" paint-order="stroke" stroke="#fff" stroke-width="3"`);
  return rect + goal + label;
}

function distinctGoals(bars: Bar[]): { goal: Goal; unit: string }[] {
  const goals = new Map<string, { goal: Goal; unit: string }>();
  for (const { goal, unit } of bars) if (goal) goals.set(goalText(goal, unit), { goal, unit });
  return [...goals.values()];
}

/** Across the whole chart, behind the bars: the figures without a goal of their own read against it too. */
function goalLineSvg(goal: Goal, unit: string, scale: (v: number) => number, bottom: number): string {
  const x = (LABEL_WIDTH + scale(goal.value)).toFixed(1);
  const label = text(Number(x), CHART_TOP - 10, goalText(goal, unit), 'class="goal-label" text-anchor="end" font-size="11" fill="#555"');
  return `<line class="goal-line" x1="${x}" x2="${x}" y1="${CHART_TOP - 6}" y2="${bottom}" stroke="${COLOURS.goalLine}" stroke-dasharray="3 3"/>${label}`;
}

/** A chart drawn from (0, 0) at WIDTH wide; its height is returned beside it for stacking. */
function chartSvg(chart: Chart): { body: string; height: number } {
  const bars = chart.groups.flatMap((g) => g.bars);
  const top = Math.max(0, ...bars.flatMap((b) => [b.value ?? 0, b.goal?.value ?? 0]));
  const scale = (v: number) => (Math.max(0, v) / (top || 1)) * PLOT_WIDTH;
  const parts = [text(0, 20, chart.title, 'font-size="15" font-weight="600" fill="#111"'), legendSvg(chart.legend, 40)];
  const goalLines = parts.length;
  let y = CHART_TOP;
  for (const group of chart.groups) {
    const groupHeight = group.bars.length * BAR_HEIGHT + (group.bars.length - 1) * BAR_GAP;
    parts.push(fitted(LABEL_WIDTH - 8, y + groupHeight / 2 + 4, group.label, LABEL_CHARS, 'text-anchor="end" font-size="12" fill="#222"'));
    group.bars.forEach((bar, i) => parts.push(barSvg(bar, y + i * (BAR_HEIGHT + BAR_GAP), scale)));
    y += groupHeight + GROUP_GAP;
  }
  const bottom = y - GROUP_GAP + 4;
  parts.splice(goalLines, 0, ...distinctGoals(bars).map(({ goal, unit }) => goalLineSvg(goal, unit, scale, bottom)));
  parts.push(`<line x1="${LABEL_WIDTH}" x2="${LABEL_WIDTH}" y1="${CHART_TOP - 4}" y2="${bottom}" stroke="#888"/>`);
  return { body: parts.join(''), height: y + 8 };
}

interface Header {
  title: string;
  lines: string[];
}

function loadAverages(details: BenchResults['details']): string {
  const loads = Object.entries(details).flatMap(([name, d]) => {
    const parsed = loadSchema.safeParse(d);
    return parsed.success ? [`${name} ${parsed.data.loadavg1Before.toFixed(1)}`] : [];
  });
  return loads.length ? loads.join(', ') : 'not recorded';
}

function header(results: BenchResults): Header {
  const { machine } = results;
  const when = results.startedAt.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');
  return {
    title: 'Benchmark results',
    lines: [
      `${when}, ${results.mode} run, ${readableNumber(results.seconds)} s`,
      `Machine: ${machine.cpus} CPUs${machine.cpuModel ? ` (${machine.cpuModel})` : ''}, ${readableNumber(machine.memGiB)} GiB memory, Node ${machine.node}`,
      `1-min load average at the start of each scenario: ${loadAverages(results.details)}`,
    ],
  };
}

interface Section {
  title: string;
  charts: Chart[];
}

function sections(results: BenchResults): Section[] {
  return [
    { title: 'Figures against goals and references', charts: figureCharts(results.rows) },
    { title: 'Latency percentiles', charts: percentileCharts(results.rows) },
  ].filter((s) => s.charts.length > 0);
}

const SECTION_GAP = 24;

export function reportSvg(results: BenchResults): string {
  const head = header(results);
  const parts = [text(0, 28, head.title, 'font-size="22" font-weight="700" fill="#111"'), ...head.lines.map((line, i) => text(0, 54 + i * 18, line, 'font-size="13" fill="#333"'))];
  let y = 54 + head.lines.length * 18 + SECTION_GAP;
  for (const section of sections(results)) {
    parts.push(text(0, y, section.title, 'font-size="18" font-weight="700" fill="#111"'));
    y += 16;
    for (const chart of section.charts) {
      const { body, height } = chartSvg(chart);
      parts.push(`<g transform="translate(0,${y})">${body}</g>`);
      y += height + 8;
    }
    y += SECTION_GAP;
  }
  const margin = 20;
  const height = y + margin;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH + 2 * margin}" height="${height}" viewBox="${-margin} ${-margin} ${WIDTH + 2 * margin} ${height}" font-family="${FONT}">` +
    `<rect x="${-margin}" y="${-margin}" width="${WIDTH + 2 * margin}" height="${height}" fill="#fff"/>${parts.join('')}</svg>\n`
  );
}

const STYLE = `body{font-family:${FONT};color:#222;background:#fff;max-width:${WIDTH + 40}px;margin:24px auto;padding:0 20px}
h1{font-size:24px;margin:0 0 8px}h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
p.meta{margin:2px 0;font-size:14px;color:#333}figure{margin:16px 0}svg{display:block;max-width:100%;height:auto}`;

export function reportHtml(results: BenchResults): string {
  const head = header(results);
  const body = sections(results).map((section) => {
    const charts = section.charts.map((chart) => {
      const { body: svg, height } = chartSvg(chart);
      return `<figure><svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${escapeXml(chart.title)}" font-family="${FONT}">${svg}</svg></figure>`;
    });
    return `<h2>${escapeXml(section.title)}</h2>\n${charts.join('\n')}`;
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(`${head.title}, ${head.lines[0]}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeXml(head.title)}</h1>
${head.lines.map((line) => `<p class="meta">${escapeXml(line)}</p>`).join('\n')}
${body.join('\n')}
</body>
</html>
`;
}
