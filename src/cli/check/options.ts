import { parseArgs } from 'node:util';
import { OPTIONS } from '../../config/options.ts';
import { FAIL_ON, type FailOn } from '../../report/model.ts';
import { isOutputFormat, OUTPUT_FORMATS, type OutputFormat } from '../../report/format.ts';

/** `dapr-guard check`'s own settings; everything else is the server's configuration. */
export interface CheckOptions {
  readonly paths: readonly string[];
  readonly output: OutputFormat;
  readonly fix: boolean;
  readonly failOn: FailOn;
  /** The namespace of objects that name none (kubectl's default: `default`). */
  readonly namespace: string;
  /** The groups of the user who applies the objects (--as-group); none: an anonymous user. */
  readonly asGroups: readonly string[];
  /** The configuration flags as given (`--config`, `--mode`, `--rule-mode`, …), for the server's loader. */
  readonly configArgv: readonly string[];
}

export type ParsedCheckArgs =
  | { readonly kind: 'run'; readonly options: CheckOptions }
  | { readonly kind: 'help' }
  | { readonly kind: 'usage-error'; readonly message: string };

const OWN_FLAGS = {
  output: { type: 'string', short: 'o' },
  fix: { type: 'boolean' },
  'fail-on': { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  'as-group': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The configuration flags the server's loader reads; `--mode` is one of them. */
function configFlags(): Record<string, { type: 'string'; short?: string; multiple?: boolean }> {
  const flags: Record<string, { type: 'string'; short?: string; multiple?: boolean }> = {
    config: { type: 'string', short: 'c' },
    'rule-mode': { type: 'string', multiple: true },
  };
  for (const spec of OPTIONS) if (spec.flag !== undefined) flags[spec.flag] = { type: 'string' };
  return flags;
}

const MAX_NAMESPACE_LENGTH = 63;
/** RFC 1123 label, as Kubernetes requires of a namespace name. */
const NAMESPACE_NAME = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;

export function parseCheckArgs(argv: readonly string[]): ParsedCheckArgs {
  let parsed: ParsedFlags;
  try {
    parsed = parseWithTokens(argv);
  } catch (error: unknown) {
    return usage(error instanceof Error ? error.message : String(error));
  }
  if (parsed.values['help'] === true) return { kind: 'help' };
  const problem = flagProblem(parsed);
  if (problem !== undefined) return usage(problem);
  const { values, positionals, tokens } = parsed;
  return {
    kind: 'run',
    options: {
      paths: positionals,
      output: values['output'] as OutputFormat,
      fix: values['fix'] === true,
      failOn: values['fail-on'] as FailOn,
      namespace: values['namespace'] ?? 'default',
      asGroups: Array.isArray(values['as-group']) ? values['as-group'] : [],
      configArgv: configTokens(tokens),
    },
  };
}

/** What is wrong with the flags and paths, if anything. */
function flagProblem({ values, positionals }: ParsedFlags): string | undefined {
  if (!isOutputFormat(values['output']))
    return `--output must be one of ${OUTPUT_FORMATS.join(', ')}, got ${quote(values['output'])}`;
  if (!isFailOn(values['fail-on']))
    return `--fail-on must be one of ${FAIL_ON.join(', ')}, got ${quote(values['fail-on'])}`;
  const namespace = values['namespace'] ?? 'default';
  if (namespace.length > MAX_NAMESPACE_LENGTH || !NAMESPACE_NAME.test(namespace))
    return `--namespace must be a namespace name (RFC 1123 label, at most 63 characters), got ${quote(namespace)}`;
  if (positionals.length === 0) return 'name at least one file, directory, or - for standard input';
  if (positionals.filter((path) => path === '-').length > 1) return '- (standard input) can be named only once';
  return undefined;
}

interface ParsedFlags {
  readonly values: Record<string, string | boolean | string[] | undefined> & {
    output: string;
    'fail-on': string;
    namespace?: string;
  };
  readonly positionals: string[];
  readonly tokens: NonNullable<ReturnType<typeof parseArgs>['tokens']>;
}

function parseWithTokens(argv: readonly string[]): ParsedFlags {
  const result = parseArgs({
    args: [...argv],
    options: { ...configFlags(), ...OWN_FLAGS },
    strict: true,
    allowPositionals: true,
    tokens: true,
  });
  const values = result.values as Record<string, string | boolean | string[] | undefined>;
  return {
    values: {
      ...values,
      output: typeof values['output'] === 'string' ? values['output'] : 'text',
      'fail-on': typeof values['fail-on'] === 'string' ? values['fail-on'] : 'enforce',
    },
    positionals: result.positionals,
    tokens: result.tokens,
  };
}

/** The configuration flags, re-spelt as `--name=value` for the loader (which knows nothing of check's flags). */
function configTokens(tokens: ParsedFlags['tokens']): string[] {
  const own = new Set(Object.keys(OWN_FLAGS));
  return tokens.flatMap((token) =>
    token.kind === 'option' && !own.has(token.name) && token.value !== undefined
      ? [`--${token.name}=${token.value}`]
      : [],
  );
}

function isFailOn(value: string): value is FailOn {
  return (FAIL_ON as readonly string[]).includes(value);
}

function usage(message: string): ParsedCheckArgs {
  return { kind: 'usage-error', message: `${message} (see dapr-guard check --help)` };
}

function quote(value: string): string {
  return JSON.stringify(value.slice(0, 64));
}

/** `dapr-guard check --help`. */
export function checkHelpText(): string {
  return [
    'Usage: dapr-guard check [flags] PATH...',
    '',
    'Reviews Kubernetes manifests offline with the rules, modes and configuration of the server: each object',
    'as a CREATE, through the mutating and then the validating webhook, exactly as a cluster would.',
    'PATH is a file, a directory (searched recursively for .yaml, .yml and .json) or - for standard input:',
    '  helm template my-release ./chart | dapr-guard check -',
    '  kustomize build overlays/prod | dapr-guard check -',
    '',
    'Flags:',
    flag(
      '-o, --output text|json|sarif|junit',
      'Output format (default text). json: docs/report-json.md; sarif: SARIF 2.1.0 for code scanning; junit: for CI test reports.',
    ),
    flag(
      '--fix',
      'Write what the mutating rules would add into the files, in place, keeping every other byte; with - the fixed stream goes to standard output (and the report to standard error).',
    ),
    flag('--fail-on enforce|warn', 'Exit 1 on violations in enforce mode (default), or also on warnings (warn).'),
    flag('-n, --namespace <name>', 'Namespace of objects that name none (default: default, as kubectl).'),
    flag(
      '--as-group <group>',
      'Review as a member of this group would apply the objects (repeatable): dapr-guard.io/exempt annotations count when it is in exemptions.allowedGroups. Default: a user in no group.',
    ),
    flag('--mode enforce|warn|audit', 'Global mode, overriding the configuration file.'),
    flag(
      '-c, --config <file>',
      "The server's YAML configuration file: modes, per-rule modes and options, exemptions (env DAPR_GUARD_CONFIG).",
    ),
    flag('--rule-mode <rule-id>=<mode>', 'Mode of one rule; repeatable.'),
    flag('-h, --help', 'Show this help.'),
    '',
    'Every other flag and DAPR_GUARD_* variable of the server (dapr-guard --help) is accepted and checked the same way.',
    'Without --as-group, objects are reviewed as a user outside exemptions.allowedGroups would apply them: dapr-guard.io/exempt',
    'annotations are reported as notices, not honoured.',
    '',
    'Exit codes: 0 no failing violation; 1 at least one (see --fail-on); 2 usage error or unreadable input',
    '(an unreadable file or a YAML syntax error; the other files are still checked and reported).',
    '',
  ].join('\n');
}

function flag(name: string, description: string): string {
  return `  ${name}\n      ${description}`;
}
