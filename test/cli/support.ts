import { Readable } from 'node:stream';
import { run } from '../../src/cli/check/command.ts';

export const REPOSITORY = new URL('../../', import.meta.url).pathname;

export interface CheckRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `dapr-guard check …` in this process, with the repository as the working directory (paths in outputs are relative). */
export async function check(
  argv: readonly string[],
  options: { readonly stdin?: string; readonly env?: NodeJS.ProcessEnv; readonly tty?: boolean } = {},
): Promise<CheckRun> {
  process.chdir(REPOSITORY);
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    env: options.env ?? {},
    stdin: Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]),
    stdout: { write: (text: string) => (stdout += text), isTTY: options.tty ?? false },
    stderr: { write: (text: string) => (stderr += text), isTTY: false },
  });
  return { code, stdout, stderr };
}
