export interface Row {
  scenario: string;
  metric: string;
  value: number | null;
  unit: string;
  /** e.g. ">= 10000"; absent when the figure has no target. */
  target?: string;
  /**
   * How the value compares: against the target (>= 1 means met: value/target for "at least",
   * target/value for "at most"), or against the named reference for comparison rows.
   */
  ratio?: number | null;
  note?: string;
}

export function atLeast(value: number | null, target: number): Pick<Row, 'target' | 'ratio'> {
  return { target: `>= ${target}`, ratio: value === null ? null : value / target };
}

export function atMost(value: number | null, target: number): Pick<Row, 'target' | 'ratio'> {
  return { target: `<= ${target}`, ratio: value === null || value === 0 ? null : target / value };
}

const fmt = (v: number | null | undefined, digits: number) =>
  v === null || v === undefined ? 'n/a' : Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toFixed(digits);

export function printTable(rows: Row[]): string {
  const header = ['scenario', 'metric', 'value', 'target', 'ratio', 'note'];
  const body = rows.map((r) => [
    r.scenario,
    r.metric,
    `${fmt(r.value, 2)}${r.unit && r.value !== null ? ' ' + r.unit : ''}`,
    r.target ? `${r.target} ${r.unit}`.trim() : '',
    r.ratio === undefined ? '' : r.ratio === null ? 'n/a' : `${r.ratio.toFixed(2)}x`,
    r.note ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  return [line(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line)].join('\n') + '\n';
}
