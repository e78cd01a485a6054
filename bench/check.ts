// npm run bench:check: how long `dapr-guard check` takes from the command line, as a CI job runs it.
// Usage: npm run bench:check [-- --runs <n>]
//   start-up: `dapr-guard check -` on empty standard input (process start, configuration, rules; no file)
//   corpus:   `dapr-guard check test/fixtures/dapr-corpus` (298 files, 323 objects), start-up included
// Each is run <n> times, alternating; wall time per run, reported as median and min/max. A noisy
// machine stretches the max, not the median much.
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
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

function runOnce(testCase: Case): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [MAIN, ...testCase.args], {
    cwd: REPOSITORY,
    input: '',
    encoding: 'utf8',
  });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== testCase.expectedStatus)
    throw new Error(`${testCase.label}: exit ${result.status}, expected ${testCase.expectedStatus}\n${result.stderr}`);
  return elapsed;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

// One warm-up run each: the first start after a build reads every file from disk.
for (const testCase of CASES) runOnce(testCase);
const times = new Map<string, number[]>(CASES.map((testCase) => [testCase.label, []]));
for (let round = 0; round < RUNS; round += 1) {
  for (const testCase of CASES) times.get(testCase.label)?.push(runOnce(testCase));
}

console.log(`Node ${process.version}, ${cpus().length} CPUs, ${RUNS} runs per case (wall time, ms)`);
console.log('| case | median | min | max |');
console.log('|---|---|---|---|');
for (const [label, measured] of times) {
  const row = [median(measured), Math.min(...measured), Math.max(...measured)].map((ms) => ms.toFixed(0));
  console.log(`| ${label} | ${row.join(' | ')} |`);
}
