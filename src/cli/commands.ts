/** What a subcommand gets from the process, so that tests can run it in-process. */
export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: AsyncIterable<Buffer | string>;
  readonly stdout: CliOutput;
  readonly stderr: CliOutput;
}

export interface CliOutput {
  write(text: string): unknown;
  /** A terminal: colour may be used (unless NO_COLOR is set). */
  readonly isTTY?: boolean;
}

/** A subcommand runs to completion and returns the process's exit code. */
export interface SubcommandModule {
  run(argv: readonly string[], io: CliIo): Promise<number>;
}

export interface Subcommand {
  readonly name: string;
  /** One line for `dapr-guard --help`. */
  readonly summary: string;
  /**
   * Loaded only when the subcommand runs: `dapr-guard check` then loads neither the server (Fastify,
   * pino) nor the Kubernetes client, which keeps its start-up at ~100 ms (bench/check.ts).
   */
  readonly load: () => Promise<SubcommandModule>;
}

/** `dapr-guard <name> …`; `dapr-guard` without one of these names runs the webhook server. */
export const SUBCOMMANDS: readonly Subcommand[] = [
  {
    name: 'check',
    summary:
      'Review manifest files, directories or standard input (helm template, kustomize build) offline, with the same rules and configuration as the server.',
    load: () => import('./check/command.ts'),
  },
  {
    name: 'audit',
    summary:
      'Review what already runs in a cluster (kubeconfig or in-cluster) with the same rules and configuration, plus stale sidecars, running sidecar resources, trust-bundle expiry and HA capacity; --report writes Report objects.',
    load: () => import('./audit/command.ts'),
  },
];

/** The subcommand `argv` starts with, if any. */
export function subcommandOf(argv: readonly string[]): Subcommand | undefined {
  const [first] = argv;
  return SUBCOMMANDS.find((command) => command.name === first);
}

/** Runs `dapr-guard <subcommand> …` with the process's streams and returns its exit code. */
export async function runSubcommand(subcommand: Subcommand, argv: readonly string[]): Promise<number> {
  // `dapr-guard check … | head`: a reader that stops early is not an error worth a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
  const module = await subcommand.load();
  return module.run(argv, { env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
}
