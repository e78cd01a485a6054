import { ConfigError } from '../../config/config.ts';
import { OUTPUT_FORMATS, type OutputFormat } from '../../report/format.ts';
import { FAIL_ON, type FailOn } from '../../report/model.ts';

/** The report APIs `--report` writes: OpenReports, or the older wg-policy PolicyReport. */
export const REPORT_APIS = ['openreports.io/v1alpha1', 'wgpolicyk8s.io/v1alpha2'] as const;
export type ReportApi = (typeof REPORT_APIS)[number];

export interface AuditArgs {
  readonly kubeconfig: string | undefined;
  readonly context: string | undefined;
  readonly namespace: string | undefined;
  readonly selector: string | undefined;
  readonly output: OutputFormat;
  readonly failOn: FailOn;
  readonly report: boolean;
  readonly reportApi: ReportApi;
  readonly pageSize: number;
  readonly help: boolean;
}

interface AuditFlag {
  readonly name: string;
  readonly short?: string;
  readonly value?: string;
  readonly description: string;
}

/** The flags of `dapr-guard audit` besides the server's configuration flags (--config, --mode, --rule-mode…). */
export const AUDIT_FLAGS: readonly AuditFlag[] = [
  {
    name: 'kubeconfig',
    value: 'file',
    description: 'Kubeconfig file. Default: $KUBECONFIG, ~/.kube/config, or in-cluster.',
  },
  { name: 'context', value: 'name', description: 'Kubeconfig context. Default: the current context.' },
  { name: 'namespace', short: 'n', value: 'name', description: 'Audit one namespace only. Default: all namespaces.' },
  {
    name: 'selector',
    short: 'l',
    value: 'selector',
    description: 'Label selector for the listed objects (as kubectl -l).',
  },
  {
    name: 'output',
    short: 'o',
    value: OUTPUT_FORMATS.join('|'),
    description: 'Output format, as dapr-guard check. Default: text.',
  },
  {
    name: 'fail-on',
    value: FAIL_ON.join('|'),
    description:
      'Which violations make the exit code 1: enforce (what the webhook would deny) or warn too. Default: enforce.',
  },
  {
    name: 'report',
    description: "Also write the findings as report objects in the cluster, replacing the last run's.",
  },
  {
    name: 'report-api',
    value: REPORT_APIS.join('|'),
    description: `API of the reports: Report/ClusterReport or PolicyReport/ClusterPolicyReport. Default: ${REPORT_APIS[0]}.`,
  },
  { name: 'page-size', value: 'n', description: 'Objects per list request (limit/continue). Default: 500.' },
  { name: 'help', short: 'h', description: 'Show this help.' },
];

const MAX_PAGE_SIZE = 5000;

/**
 * Splits the arguments of `dapr-guard audit` into its own flags and the rest, which are the server's
 * configuration flags and go to loadConfig (so the audit decides with the webhook's configuration).
 */
export function parseAuditArgs(argv: readonly string[]): { readonly args: AuditArgs; readonly rest: string[] } {
  const values = new Map<string, string | true>();
  const rest: string[] = [];
  for (let index = 0; index < argv.length; index += 1) {
    const token = argv[index] ?? '';
    const flag = flagOf(token);
    if (flag === undefined) {
      rest.push(token);
      continue;
    }
    if (flag.spec.value === undefined) {
      if (flag.inline !== undefined) throw new ConfigError(`--${flag.spec.name} takes no value (see --help)`);
      values.set(flag.spec.name, true);
      continue;
    }
    const value = flag.inline ?? argv[index + 1];
    if (value === undefined) throw new ConfigError(`--${flag.spec.name} needs a value: <${flag.spec.value}>`);
    if (flag.inline === undefined) index += 1;
    values.set(flag.spec.name, value);
  }
  return { args: checkedArgs(values), rest };
}

function flagOf(token: string): { spec: AuditFlag; inline: string | undefined } | undefined {
  const long = /^--([a-z-]+)(?:=(.*))?$/s.exec(token);
  if (long !== null) {
    const spec = AUDIT_FLAGS.find((candidate) => candidate.name === long[1]);
    return spec === undefined ? undefined : { spec, inline: long[2] };
  }
  const short = /^-([a-z])(.*)$/is.exec(token);
  const spec = short === null ? undefined : AUDIT_FLAGS.find((candidate) => candidate.short === short[1]);
  if (short === null || spec === undefined) return undefined;
  return { spec, inline: short[2] === '' ? undefined : short[2]?.replace(/^=/, '') };
}

function checkedArgs(values: ReadonlyMap<string, string | true>): AuditArgs {
  const text = (name: string): string | undefined => {
    const value = values.get(name);
    return typeof value === 'string' ? value : undefined;
  };
  return {
    kubeconfig: text('kubeconfig'),
    context: text('context'),
    namespace: text('namespace'),
    selector: text('selector'),
    output: oneOf('output', OUTPUT_FORMATS, text('output') ?? 'text'),
    failOn: oneOf('fail-on', FAIL_ON, text('fail-on') ?? 'enforce'),
    report: values.get('report') === true,
    reportApi: oneOf('report-api', REPORT_APIS, text('report-api') ?? REPORT_APIS[0]),
    pageSize: pageSizeOf(text('page-size') ?? '500'),
    help: values.get('help') === true,
  };
}

function oneOf<T extends string>(flag: string, accepted: readonly T[], value: string): T {
  if (isOneOf(accepted, value)) return value;
  throw new ConfigError(`--${flag} must be one of ${accepted.join(', ')}, got ${JSON.stringify(value.slice(0, 64))}`);
}

function pageSizeOf(text: string): number {
  const pageSize = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (pageSize >= 1 && pageSize <= MAX_PAGE_SIZE) return pageSize;
  throw new ConfigError(
    `--page-size must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${JSON.stringify(text.slice(0, 64))}`,
  );
}

function isOneOf<T extends string>(values: readonly T[], value: string): value is T {
  return (values as readonly string[]).includes(value);
}

/** `dapr-guard audit --help`. */
export function auditHelpText(): string {
  const flags = AUDIT_FLAGS.map((flag) => {
    const names = `${flag.short === undefined ? '' : `-${flag.short}, `}--${flag.name}${flag.value === undefined ? '' : ` <${flag.value}>`}`;
    return `  ${names}\n      ${flag.description}`;
  });
  return [
    'Usage: dapr-guard audit [options] [configuration options]',
    '',
    "Reviews what already runs in the cluster against the rules, with the webhook's configuration (the",
    'configuration options and environment of `dapr-guard --help`), plus checks only a running cluster',
    'answers: stale-sidecar, running-sidecar-resources, trust-bundle-expiry, ha-capacity.',
    'Exit code (as dapr-guard check): 0 passed, 1 a violation at --fail-on, 2 bad options, a missing permission or the cluster unreadable.',
    '',
    'Options:',
    ...flags,
    '',
  ].join('\n');
}
