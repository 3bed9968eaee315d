import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, removeDir, tempDir } from './lib/proc.js';
import { benchResultsSchema, reportHtml, reportSvg, type BenchResults } from './lib/report.js';
import { printTable, type Row } from './lib/table.js';
import { scenarios, type Options, type ScenarioName } from './scenarios/index.js';

/**
 * `npm run bench [-- --quick] [--scenario name,...] [--duration s] [--clients n] [--gen-procs n]
 * [--cpu-prof] [--report-only]` (`--help` lists the scenarios): runs the scenarios one after
 * another, each against a fresh server process over a fresh data directory, with load generators in
 * their own processes, then draws bench/results/report.html and report.svg. `--report-only` redraws them from latest.json.
 */
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    scenario: { type: 'string' },
    duration: { type: 'string' },
    clients: { type: 'string' },
    'gen-procs': { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    'report-only': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

const names = Object.keys(scenarios) as ScenarioName[];
if (values.help) {
  process.stdout.write(
    `usage: npm run bench -- [--quick] [--scenario ${names.join(',')}] [--duration seconds] [--clients n] [--gen-procs n] [--cpu-prof] [--report-only]\n`,
  );
  process.exit(0);
}

const positive = (name: string, raw: string | undefined): number | undefined => {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number, got ${raw}`);
  return n;
};

const selected = (values.scenario?.split(',').map((s) => s.trim()).filter(Boolean) ?? names) as ScenarioName[];
for (const s of selected) if (!names.includes(s)) throw new Error(`unknown scenario ${s}; known: ${names.join(', ')}`);

const RESULTS = join(ROOT, 'bench', 'results');
const options: Options = {
  quick: values.quick,
  durationSec: positive('duration', values.duration),
  clients: positive('clients', values.clients),
  genProcs: positive('gen-procs', values['gen-procs']) ?? 1,
  cpuProfDir: values['cpu-prof'] ? join(RESULTS, 'profiles') : undefined,
};
if (options.cpuProfDir) mkdirSync(options.cpuProfDir, { recursive: true });

async function main(): Promise<void> {
  const started = new Date();
  const rows: Row[] = [];
  const details: Record<string, unknown> = {};
  for (const name of selected) {
    const dir = tempDir(name);
    process.stderr.write(`\n== ${name} ==\n`);
    const t0 = performance.now();
    // Other processes on the machine skew every figure: the load average is kept with each result.
    const loadBefore = loadavg()[0]!;
    try {
      const result = await scenarios[name](options, dir);
      rows.push(...result.rows);
      details[name] = { ...result.details, loadavg1Before: loadBefore, loadavg1After: loadavg()[0] };
    } catch (error) {
      process.stderr.write(`${name} failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      rows.push({ scenario: name, metric: 'failed', value: null, unit: '', note: error instanceof Error ? error.message : String(error) });
    } finally {
      removeDir(dir);
    }
    process.stderr.write(`${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  const table = printTable(rows);
  process.stdout.write(table);
  const loads = Object.entries(details).map(([name, d]) => `${name} ${(d as { loadavg1Before: number }).loadavg1Before.toFixed(1)}`);
  process.stdout.write(`1-min load average at the start of each scenario (${cpus().length} CPUs): ${loads.join(', ')}\n`);
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memGiB: Number((totalmem() / 2 ** 30).toFixed(1)), node: process.version };
  const out = {
    startedAt: started.toISOString(),
    seconds: (Date.now() - started.getTime()) / 1000,
    mode: options.quick ? 'quick' : 'full',
    options,
    machine,
    rows,
    details,
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'latest.json'), JSON.stringify(out, null, 2) + '\n');
  process.stderr.write(`\nwrote bench/results/latest.json (${out.seconds.toFixed(0)} s)\n`);
  writeReport(out);
}

function writeReport(results: BenchResults): void {
  writeFileSync(join(RESULTS, 'report.html'), reportHtml(results));
  writeFileSync(join(RESULTS, 'report.svg'), reportSvg(results));
  process.stdout.write('report: bench/results/report.html, bench/results/report.svg\n');
}

async function redrawReport(): Promise<void> {
  writeReport(benchResultsSchema.parse(JSON.parse(readFileSync(join(RESULTS, 'latest.json'), 'utf8'))));
}

// A benchmark never fails CI on a figure: only a harness error (an exception) exits non-zero.
(values['report-only'] ? redrawReport() : main()).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
