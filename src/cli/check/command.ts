import type { UserInfo } from '../../admission/wire.ts';
import { ConfigError, type Config } from '../../config/config.ts';
import { loadConfig } from '../../config/load.ts';
import { policyOf } from '../../config/policy.ts';
import { formatReport } from '../../report/format.ts';
import { EXIT_USAGE_OR_INPUT, exitCodeOf, type Report } from '../../report/model.ts';
import { RULE_IDS } from '../../rules/index.ts';
import type { CliIo } from '../commands.ts';
import { packageVersion, ruleDescriptorsOf } from '../report-context.ts';
import { checkManifests } from './check.ts';
import { readInputs, STDIN_PATH } from './inputs.ts';
import { checkHelpText, parseCheckArgs, type CheckOptions } from './options.ts';
import { writeFixes } from './write-fixes.ts';

/** `dapr-guard check …`: see checkHelpText. Never throws: every failure is a message and an exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    return await runCheck(argv, io);
  } catch (error: unknown) {
    if (error instanceof ConfigError) {
      io.stderr.write(`dapr-guard check: ${error.message}\n`);
      return EXIT_USAGE_OR_INPUT;
    }
    io.stderr.write(`dapr-guard check: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_USAGE_OR_INPUT;
  }
}

async function runCheck(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseCheckArgs(argv);
  if (parsed.kind === 'help') {
    io.stdout.write(checkHelpText());
    return 0;
  }
  if (parsed.kind === 'usage-error') {
    io.stderr.write(`dapr-guard check: ${parsed.message}\n`);
    return EXIT_USAGE_OR_INPUT;
  }
  const { options } = parsed;
  const config = configOf(options, io.env);
  const inputs = await readInputs(options.paths, io.stdin);
  const checked = checkManifests(inputs, {
    policy: policyOf(config, () => undefined),
    defaultNamespace: options.namespace,
    userInfo: userOf(options.asGroups),
  });
  const fixes = options.fix ? writeFixes(checked.fixes, inputs.texts, io.stdout) : { problems: [] };
  const report: Report = {
    tool: { name: 'dapr-guard', version: packageVersion() },
    command: 'check',
    rules: ruleDescriptorsOf(config),
    objects: checked.objects,
    problems: [...checked.problems, ...fixes.problems],
    skipped: checked.skipped,
    sources: inputs.sources,
  };
  // With `--fix -` the fixed stream is the standard output; the report goes beside it.
  const out = options.fix && options.paths.includes(STDIN_PATH) ? io.stderr : io.stdout;
  out.write(formatReport(report, options.output, { failOn: options.failOn, color: colourFor(out, io.env) }));
  return exitCodeOf(report, options.failOn);
}

/** Who `kubectl apply` runs as: anonymous, or in the --as-group groups (a GitOps controller's, say). */
function userOf(groups: readonly string[]): UserInfo {
  return groups.length === 0 ? {} : { username: 'dapr-guard-check', groups };
}

function configOf(options: CheckOptions, env: NodeJS.ProcessEnv): Config {
  const command = loadConfig(options.configArgv, env, RULE_IDS);
  // parseCheckArgs hands on configuration flags only (never --help or --version): the loader returns a configuration.
  if (command.kind !== 'run') throw new ConfigError('unexpected --help or --version');
  return command.config;
}

/** On a terminal, unless NO_COLOR is set to anything (https://no-color.org). */
function colourFor(out: CliIo['stdout'], env: NodeJS.ProcessEnv): boolean {
  return out.isTTY === true && (env['NO_COLOR'] === undefined || env['NO_COLOR'] === '');
}
