#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { runSubcommand, SUBCOMMANDS, subcommandOf } from './cli/commands.ts';
import { buildConfig, ConfigError, type Config } from './config/config.ts';
import { helpText } from './config/help.ts';
import { loadConfig } from './config/load.ts';
import { configuredRules } from './config/policy.ts';
import { RULE_IDS } from './rules/index.ts';
import type { RunningServer } from './server/server.ts';

/**
 * Log lines are buffered and written in batches (at 8 KiB, or every 200 ms when traffic is low): one
 * write per review cost more than all the rules together in the benchmark. pino flushes on exit.
 */
const LOG_DESTINATION = { dest: 1, sync: false, minLength: 8192, periodicFlush: 200 } as const;

async function main(): Promise<void> {
  const subcommand = subcommandOf(process.argv.slice(2));
  if (subcommand !== undefined) {
    process.exitCode = await runSubcommand(subcommand, process.argv.slice(3));
    return;
  }
  const command = loadConfig(process.argv.slice(2), process.env, RULE_IDS);
  if (command.kind === 'help') {
    process.stdout.write(helpText(configuredRules(buildConfig([], RULE_IDS)), SUBCOMMANDS));
    return;
  }
  if (command.kind === 'version') {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  const { config } = command;
  // Loaded only to serve: a subcommand starts without Fastify, pino's transport or the Kubernetes client.
  const [{ pino }, { startServer }] = await Promise.all([import('pino'), import('./server/server.ts')]);
  const logger = pino({ level: config.log.level, base: { service: 'dapr-guard' } }, pino.destination(LOG_DESTINATION));
  // Installed before start-up, which may wait on the cluster: a SIGTERM then exits 0, not 143.
  const running = stopOnSignals(logger);
  const server = await startServer(config, logger, process.env);
  running.started(server);
  if (isLoopback(config.server.host)) process.stderr.write(localHints(config, server));
}

/** SIGTERM or SIGINT: a graceful shutdown once started; during start-up, an exit 0 (nothing is served yet). */
function stopOnSignals(logger: Logger): { readonly started: (server: RunningServer) => void } {
  let server: RunningServer | undefined;
  const stop = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'signal received');
    if (server === undefined) {
      logger.info('stopped during start-up');
      logger.flush(() => process.exit(0));
      return;
    }
    server.shutdown().then(
      () => logger.flush(() => process.exit(0)),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return {
    started: (running) => {
      server = running;
    },
  };
}

function localHints(config: Config, server: RunningServer): string {
  const review = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '00000000-0000-0000-0000-000000000001',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'default',
      operation: 'CREATE',
      userInfo: { username: 'me' },
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'demo', annotations: { 'dapr.io/enabled': 'true' } } },
    },
  });
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  return [
    '',
    `dapr-guard is listening on https://${host}:${server.port} (CA certificate: ${config.tls.caFile})`,
    'Try it:',
    `  curl --cacert ${config.tls.caFile} -H 'Content-Type: application/json' https://${host}:${server.port}/mutate -d '${review}'`,
    '',
  ].join('\n');
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost';
}

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return manifest.version ?? 'unknown';
}

main().catch(async (error: unknown) => {
  const { TlsFilesError } = await import('./tls/files.ts');
  // Both are the user's settings to correct, not a fault of the server.
  if (error instanceof ConfigError || error instanceof TlsFilesError) {
    process.stderr.write(`dapr-guard: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`dapr-guard: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
