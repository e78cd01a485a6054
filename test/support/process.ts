import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

/** A port that was free a moment ago (the OS picks it), for servers started in another process. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface Spawned {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves when `pattern` appears on stdout or stderr; rejects if the process exits first or on timeout. */
  readonly waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Send stdout (the JSON logs) to /dev/null instead of collecting it: for load tests, where reading
   * it would take CPU from the load generator. The process still writes every line.
   */
  readonly discardStdout?: boolean;
}

export function spawnNode(args: readonly string[], options: SpawnOptions = {}): Spawned {
  const stdio: StdioOptions = options.discardStdout === true ? ['pipe', 'ignore', 'pipe'] : 'pipe';
  const child = spawn(process.execPath, [...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio,
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitFor = (pattern: RegExp, timeoutMs = 15_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => pattern.test(stdout) || pattern.test(stderr);
      if (check()) return resolve();
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${pattern}\nstdout: ${stdout}\nstderr: ${stderr}`)),
        timeoutMs,
      );
      const onData = (): void => {
        if (check()) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      void exited.then(({ code }) => {
        clearTimeout(timer);
        if (!check())
          reject(new Error(`process exited (${code}) before ${pattern}\nstdout: ${stdout}\nstderr: ${stderr}`));
      });
    });
  return { child, stdout: () => stdout, stderr: () => stderr, waitFor, exited };
}
