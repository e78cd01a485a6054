import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

/** One instruction of a Dockerfile: keyword and its arguments (JSON-array form already split). */
export interface Instruction {
  readonly keyword: string;
  readonly args: readonly string[];
  readonly flags: Readonly<Record<string, string>>;
}

export interface Stage {
  readonly name: string;
  readonly base: string;
  readonly instructions: readonly Instruction[];
}

/** Parses the subset of Dockerfile syntax this project uses (no line continuations, no heredocs). */
export function parseDockerfile(text: string): Stage[] {
  const stages: { name: string; base: string; instructions: Instruction[] }[] = [];
  for (const line of text.split('\n').map((raw) => raw.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    const [keyword = '', ...rest] = line.split(/\s+/);
    const upper = keyword.toUpperCase();
    const rawArgs = line.slice(keyword.length).trim();
    if (upper === 'FROM') {
      const [base = '', as, name] = rest;
      stages.push({
        base,
        name: as?.toUpperCase() === 'AS' && name !== undefined ? name : String(stages.length),
        instructions: [],
      });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) throw new Error(`instruction before FROM: ${line}`);
    stage.instructions.push(parseInstruction(upper, rawArgs));
  }
  return stages;
}

function parseInstruction(keyword: string, rawArgs: string): Instruction {
  if (rawArgs.startsWith('[')) return { keyword, args: JSON.parse(rawArgs) as string[], flags: {} };
  const words = rawArgs.split(/\s+/);
  const flags = Object.fromEntries(
    words.filter((word) => word.startsWith('--')).map((word) => word.slice(2).split('=') as [string, string]),
  );
  return { keyword, args: keyword === 'RUN' ? [rawArgs] : words.filter((word) => !word.startsWith('--')), flags };
}

/** A stage replayed into a directory: its root stands for `/`; returns the root. */
export interface ReplayedStage {
  readonly root: string;
  readonly workdir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly user: string | undefined;
  readonly exposed: readonly string[];
  readonly entrypoint: readonly string[];
}

/**
 * Replays COPY (from the build context or an earlier stage), WORKDIR, ENV and `RUN npm …` of each stage
 * into its own directory, as `docker build` would, so that the runtime stage's file layout is real.
 */
export function replayStages(stages: readonly Stage[], context: string): Map<string, ReplayedStage> {
  const replayed = new Map<string, ReplayedStage>();
  for (const stage of stages) replayed.set(stage.name, replayStage(stage, context, replayed));
  return replayed;
}

function replayStage(stage: Stage, context: string, earlier: ReadonlyMap<string, ReplayedStage>): ReplayedStage {
  const root = mkdtempSync(join(tmpdir(), `dapr-guard-stage-${stage.name}-`));
  let workdir = '/';
  const env: Record<string, string> = {};
  let user: string | undefined;
  const exposed: string[] = [];
  let entrypoint: string[] = [];
  const inRoot = (path: string): string => join(root, path.startsWith('/') ? path : join(workdir, path));
  for (const instruction of stage.instructions) {
    switch (instruction.keyword) {
      case 'WORKDIR':
        workdir = instruction.args[0] ?? '/';
        mkdirSync(inRoot('.'), { recursive: true });
        break;
      case 'ENV':
        for (const pair of instruction.args) {
          const [key = '', value = ''] = pair.split('=');
          env[key] = value;
        }
        break;
      case 'COPY':
        copy(instruction, context, earlier, inRoot);
        break;
      case 'RUN':
        run(instruction.args[0] ?? '', inRoot('.'));
        break;
      case 'USER':
        user = instruction.args[0];
        break;
      case 'EXPOSE':
        exposed.push(...instruction.args);
        break;
      case 'ENTRYPOINT':
        entrypoint = [...instruction.args];
        break;
      default:
        throw new Error(`the replay does not support ${instruction.keyword}`);
    }
  }
  return { root, workdir, env, user, exposed, entrypoint };
}

function copy(
  instruction: Instruction,
  context: string,
  earlier: ReadonlyMap<string, ReplayedStage>,
  inRoot: (path: string) => string,
): void {
  const sources = instruction.args.slice(0, -1);
  const destination = instruction.args.at(-1) ?? '.';
  const from = instruction.flags['from'];
  const sourceStage = from === undefined ? undefined : earlier.get(from);
  if (from !== undefined && sourceStage === undefined) throw new Error(`COPY --from=${from}: no such stage`);
  for (const source of sources) {
    const sourcePath = sourceStage === undefined ? join(context, source) : join(sourceStage.root, source);
    const target = destination.endsWith('/')
      ? join(inRoot(destination), source.split('/').at(-1) ?? source)
      : inRoot(destination);
    cpSync(sourcePath, target, { recursive: true, dereference: false });
  }
}

function run(command: string, cwd: string): void {
  if (!/^npm (?:ci|run) /.test(command)) throw new Error(`the replay runs npm commands only, not: ${command}`);
  execFileSync('sh', ['-c', `${command} --prefer-offline --loglevel=error`], { cwd, stdio: 'pipe', env: process.env });
}
