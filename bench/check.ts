// npm run bench:check: how long `dapr-guard check` takes from the command line, as a CI job runs it.
// Usage: npm run bench:check [-- --runs <n>]
//   start-up: `dapr-guard check -` on empty standard input (process start, configuration, rules; no file)
//   corpus:   `dapr-guard check test/fixtures/dapr-corpus` (298 files, 323 objects), start-up included
// Each is run <n> times, alternating: wall time (median, min, max) and the process's own CPU time
// (user + system, median), which a machine busy with other work stretches far less than wall time.
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } });
const RUNS = Number(values.runs);
const REPOSITORY = new URL('../', import.meta.url).pathname;
const MAIN = `${REPOSITORY}dist/main.js`;

interface Case {
  readonly label: string;
  readonly args: readonly string[];
  readonly expectedStatus: number;
}

const CASES: readonly Case[] = [
  { label: 'start-up (check -, empty input)', args: ['check', '-'], expectedStatus: 0 },
  { label: 'corpus (298 files)', args: ['check', 'test/fixtures/dapr-corpus'], expectedStatus: 1 },
];

/** Preloaded into the measured process: its CPU time, written to standard error as it exits. */
const CPU_REPORTER = `data:text/javascript,${encodeURIComponent(
  "import { writeSync } from 'node:fs'; process.on('exit', () => { const { user, system } = process.cpuUsage(); writeSync(2, '\\nbench-cpu-us ' + (user + system) + '\\n'); });",
)}`;

interface Sample {
  readonly wallMs: number;
  readonly cpuMs: number;
}

function runOnce(testCase: Case): Sample {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ['--import', CPU_REPORTER, MAIN, ...testCase.args], {
    cwd: REPOSITORY,
    input: '',
    encoding: 'utf8',
  });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== testCase.expectedStatus)
    throw new Error(`${testCase.label}: exit ${result.status}, expected ${testCase.expectedStatus}\n${result.stderr}`);
  const cpu = /^bench-cpu-us (\d+)$/m.exec(result.stderr)?.[1];
  if (cpu === undefined) throw new Error(`${testCase.label}: no CPU time reported\n${result.stderr}`);
  return { wallMs, cpuMs: Number(cpu) / 1000 };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

// One warm-up run each: the first start after a build reads every file from disk.
for (const testCase of CASES) runOnce(testCase);
const samples = new Map<string, Sample[]>(CASES.map((testCase) => [testCase.label, []]));
for (let round = 0; round < RUNS; round += 1) {
  for (const testCase of CASES) samples.get(testCase.label)?.push(runOnce(testCase));
}

console.log(
  `Node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()[0]?.toFixed(1)}, ${RUNS} runs per case (ms)`,
);
console.log('| case | wall median | wall min | wall max | CPU median |');
console.log('|---|---|---|---|---|');
for (const [label, measured] of samples) {
  const wall = measured.map((sample) => sample.wallMs);
  const row = [median(wall), Math.min(...wall), Math.max(...wall), median(measured.map((sample) => sample.cpuMs))];
  console.log(`| ${label} | ${row.map((ms) => ms.toFixed(0)).join(' | ')} |`);
}
