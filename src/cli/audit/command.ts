import { Auditor } from '../../audit/auditor.ts';
import { AUDIT_KINDS, collectionPathOf, resourceNameOf, type AuditKind } from '../../audit/kinds.ts';
import type { AuditResult } from '../../audit/model.ts';
import {
  MANAGED_BY,
  MANAGED_BY_LABEL,
  MAX_RESULTS,
  REPORT_KINDS,
  REPORT_NAME,
  reportsOf,
} from '../../audit/reports.ts';
import { auditReport } from '../../audit/to-report.ts';
import { AUDIT_CHECKS } from '../../audit/checks.ts';
import { TRUST_BUNDLE_SECRET } from '../../audit/trust-bundle.ts';
import { ConfigError, type Config } from '../../config/config.ts';
import { RULE_DOCS_URL } from '../../config/help.ts';
import { loadConfig } from '../../config/load.ts';
import { policyOf } from '../../config/policy.ts';
import { createApiClientFor, type ApiClient } from '../../kube/api-client.ts';
import { clusterConfigured, describeMissingCredentials } from '../../kube/cluster-access.ts';
import { readClusterCredentials } from '../../kube/cluster-credentials.ts';
import { listPages, readTrustBundle, type ListOutcome } from '../../kube/cluster-lister.ts';
import { writeReports } from '../../kube/report-writer.ts';
import { formatReport } from '../../report/format.ts';
import { EXIT_USAGE_OR_INPUT, exitCodeOf, type RuleDescriptor } from '../../report/model.ts';
import { RULE_IDS } from '../../rules/index.ts';
import type { CliIo } from '../commands.ts';
import { packageVersion, ruleDescriptorsOf } from '../report-context.ts';
import { auditHelpText, parseAuditArgs, type AuditArgs } from './options.ts';

const DEFAULT_CONTROL_PLANE_NAMESPACE = 'dapr-system';
/** docs/audit.md, beside the rule pages: the audit checks' page. */
const AUDIT_DOCS_URL = RULE_DOCS_URL.replace(/\/rules$/, '/audit.md');
/** Who the review says wrote each stored object when exemptions are restricted to groups (see reviewFindings). */
const AUDIT_USERNAME = 'dapr-guard:audit';

/** `dapr-guard audit`: lists the cluster, reviews what runs, prints (and with --report writes) the findings. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const settings = readSettings(argv, io.env);
  if (settings.kind === 'problem') {
    io.stderr.write(`dapr-guard audit: ${settings.message}\n`);
    return EXIT_USAGE_OR_INPUT;
  }
  if (settings.kind === 'help') {
    io.stdout.write(auditHelpText());
    return 0;
  }
  const { args, config } = settings;
  const access = await clusterAccessOf(args, io.env);
  if (typeof access === 'string') {
    io.stderr.write(`dapr-guard audit: ${access}\n`);
    return EXIT_USAGE_OR_INPUT;
  }
  const { client, context } = access;
  const audited = await auditCluster(client, config, args, io);
  if (typeof audited === 'string') {
    io.stderr.write(`dapr-guard audit: cannot read the cluster at ${client.server}: ${audited}\n`);
    return EXIT_USAGE_OR_INPUT;
  }
  const result = args.report ? await withReports(client, audited, args) : audited;
  for (const note of [listedNote(result, args), ...result.notes]) io.stderr.write(`dapr-guard audit: ${note}\n`);
  const report = auditReport(result, {
    cluster: context,
    version: packageVersion(),
    rules: descriptorsOf(config),
  });
  io.stdout.write(formatReport(report, args.output, { failOn: args.failOn, color: colourFor(io) }));
  return exitCodeOf(report, args.failOn);
}

type Settings =
  | { readonly kind: 'run'; readonly args: AuditArgs; readonly config: Config }
  | { readonly kind: 'help' }
  | { readonly kind: 'problem'; readonly message: string };

/** The audit's flags and the webhook's configuration from the rest of the arguments, help, or the problem. */
function readSettings(argv: readonly string[], env: NodeJS.ProcessEnv): Settings {
  const problem = (message: string): Settings => ({ kind: 'problem', message });
  try {
    const { args, rest } = parseAuditArgs(argv);
    if (args.help) return { kind: 'help' };
    const command = loadConfig(rest, env, RULE_IDS);
    if (command.kind !== 'run')
      return problem('use dapr-guard audit --help for the audit, dapr-guard --help for the configuration');
    if (args.report && args.selector !== undefined)
      return problem('--report cannot be combined with --selector: a report stands for a whole namespace');
    return { kind: 'run', args, config: command.config };
  } catch (error: unknown) {
    if (error instanceof ConfigError) return problem(error.message);
    throw error;
  }
}

/**
 * The API client of the chosen context. client-node (~80 MiB of RSS once loaded, bench/audit.ts) is
 * loaded only for a user with an exec or auth-provider plugin.
 */
async function clusterAccessOf(
  args: AuditArgs,
  env: NodeJS.ProcessEnv,
): Promise<{ client: ApiClient; context: string } | string> {
  if (args.kubeconfig === undefined && !clusterConfigured(env))
    return describeMissingCredentials('dapr-guard audit', 'pass --kubeconfig <file>');
  const options = { file: args.kubeconfig, context: args.context };
  const read = readClusterCredentials(options, env);
  if (read.kind === 'problem') return read.message;
  if (read.kind === 'credentials')
    return { client: createApiClientFor(read.credentials), context: read.credentials.context };
  const [{ loadKubeConfigFor }, { createApiClient }] = await Promise.all([
    import('../../kube/kube-config.ts'),
    import('../../kube/api-client.ts'),
  ]);
  const kubeConfig = loadKubeConfigFor(options);
  return typeof kubeConfig === 'string'
    ? kubeConfig
    : { client: createApiClient(kubeConfig), context: kubeConfig.getCurrentContext() };
}

/** The audit of everything listed, or why nothing could be listed. */
export async function auditCluster(
  client: ApiClient,
  config: Config,
  args: Pick<AuditArgs, 'namespace' | 'selector' | 'pageSize'>,
  io: Pick<CliIo, 'stderr'>,
): Promise<AuditResult | string> {
  const auditor = new Auditor({
    policyOf: (namespaceMode) => policyOf(config, namespaceMode),
    userInfo: auditUserOf(config),
    sidecarDefaults: config.sidecarDefaults,
    now: new Date(),
  });
  const progress = progressLine(io);
  let listedAny = false;
  let lastFailure = '';
  for (const kind of kindsFor(args.namespace)) {
    const outcome = await listKind(client, kind, args, (items) => {
      for (const item of items) auditor.observe(kind, item);
      progress(kind, items.length);
    });
    if (outcome.ok) listedAny = true;
    else {
      lastFailure = outcome.message;
      const message = describeListFailure(kind, args.namespace, outcome);
      auditor.unavailable(kind, message, outcome.reason === 'not-served' ? 'note' : 'problem');
    }
  }
  progress.done();
  if (!listedAny) return lastFailure;
  await auditTrustBundle(client, auditor);
  return auditor.finish();
}

/** With --namespace, the cluster-scoped kinds are left out, and the one Namespace is read for its mode label. */
function kindsFor(namespace: string | undefined): readonly AuditKind[] {
  return namespace === undefined
    ? AUDIT_KINDS
    : AUDIT_KINDS.filter((kind) => kind.namespaced || kind.kind === 'Namespace');
}

async function listKind(
  client: ApiClient,
  kind: AuditKind,
  args: Pick<AuditArgs, 'namespace' | 'selector' | 'pageSize'>,
  onPage: (items: readonly Record<string, unknown>[]) => void,
): Promise<ListOutcome> {
  if (kind.kind === 'Namespace' && args.namespace !== undefined) {
    const response = await client.request('GET', `/api/v1/namespaces/${encodeURIComponent(args.namespace)}`);
    if (!response.ok)
      return { ok: false, reason: response.status === 403 ? 'forbidden' : 'failed', message: response.message };
    onPage([response.body as Record<string, unknown>]);
    return { ok: true, items: 1 };
  }
  // The selector is for the objects under review; Namespaces and Nodes are read whole for their checks.
  const labelSelector = kind.reviewed ? args.selector : undefined;
  return listPages(
    client,
    collectionPathOf(kind, args.namespace),
    { pageSize: args.pageSize, ...(labelSelector === undefined ? {} : { labelSelector }) },
    onPage,
  );
}

function describeListFailure(
  kind: AuditKind,
  namespace: string | undefined,
  outcome: Exclude<ListOutcome, { ok: true }>,
): string {
  const resource = resourceNameOf(kind);
  const verb = kind.kind === 'Namespace' && namespace !== undefined ? 'get' : 'list';
  const where = !kind.namespaced ? '' : namespace === undefined ? ' cluster-wide' : ` in namespace ${namespace}`;
  switch (outcome.reason) {
    case 'not-served':
      return `${kind.kind} (${resource}) is not served by this cluster — skipped${kind.group === 'dapr.io' ? " (Dapr's CRDs are not installed)" : ''}`;
    case 'forbidden':
      return `no permission to ${verb} ${resource}${where} — skipped; grant ${verb} on ${resource} (the chart's audit ClusterRole has it)`;
    case 'failed':
      return `listing ${resource}${where} failed — skipped: ${outcome.message}`;
  }
}

/** `ca.crt` and `issuer.crt` of `dapr-trust-bundle`, in the control plane's namespace. */
async function auditTrustBundle(client: ApiClient, auditor: Auditor): Promise<void> {
  const seen = auditor.controlPlaneNamespace();
  const namespace = seen ?? DEFAULT_CONTROL_PLANE_NAMESPACE;
  const read = await readTrustBundle(client, namespace, TRUST_BUNDLE_SECRET);
  const secret = `Secret ${namespace}/${TRUST_BUNDLE_SECRET}`;
  if (read.ok) auditor.trustBundle({ namespace, caCrt: read.caCrt, issuerCrt: read.issuerCrt });
  else if (read.reason === 'forbidden')
    auditor.problem(`no permission to get ${secret} — the trust-bundle expiry is not checked; grant get on it by name`);
  else if (read.reason === 'failed')
    auditor.problem(`reading ${secret} failed — trust-bundle expiry not checked: ${read.message}`);
  else if (seen !== undefined) auditor.note(`${secret} does not exist — trust-bundle expiry not checked`);
}

/** Writes the reports of `--report`; what it wrote is a note, what failed a problem of the result. */
async function withReports(client: ApiClient, result: AuditResult, args: AuditArgs): Promise<AuditResult> {
  const kinds = REPORT_KINDS[args.reportApi];
  const [group = '', version = ''] = kinds.apiVersion.split('/');
  const withCluster = args.namespace === undefined;
  const desired = reportsOf(result, args.reportApi, new Date(), args.namespace);
  const scope = { selector: `${MANAGED_BY_LABEL}=${MANAGED_BY}`, namespace: args.namespace, name: REPORT_NAME };
  const namespaced = [...desired.reports].filter(([namespace]) => namespace !== '').map(([, report]) => report);
  const target = { group, version, namespaced: true, resource: kinds.namespaced.resource };
  const outcomes = [await writeReports(client, target, namespaced, scope)];
  const cluster = desired.reports.get('');
  if (withCluster && cluster !== undefined)
    outcomes.push(
      await writeReports(client, { ...target, namespaced: false, resource: kinds.cluster.resource }, [cluster], scope),
    );
  const written = outcomes.reduce((sum, outcome) => sum + outcome.written, 0);
  const deleted = outcomes.reduce((sum, outcome) => sum + outcome.deleted, 0);
  const notes = [
    ...result.notes,
    `reports (${kinds.apiVersion}): ${written} written, ${deleted} removed`,
    ...desired.truncated.map(
      (namespace) =>
        `the report of ${namespace === '' ? 'the cluster' : `namespace ${namespace}`} holds the first ${MAX_RESULTS} results; its summary counts all`,
    ),
  ];
  return { ...result, notes, problems: [...result.problems, ...outcomes.flatMap((outcome) => outcome.problems)] };
}

/** `listed 6 objects: 1 Namespace, 2 Pod, …`: what the audit looked at. */
function listedNote(result: AuditResult, args: Pick<AuditArgs, 'pageSize'>): string {
  const entries = Object.entries(result.listed);
  const total = entries.reduce((sum, [, count]) => sum + count, 0);
  const kinds = entries.map(([kind, count]) => `${count} ${kind}`).join(', ');
  return `listed ${total} objects${kinds === '' ? '' : ` (${kinds})`} in pages of ${args.pageSize}`;
}

/**
 * A stored exemption was accepted when the object was written; the review counts it as set by an allowed
 * user (the first of exemptions.allowedGroups), so that the audit decides as the webhook did.
 */
function auditUserOf(config: Config): { username: string; groups: string[] } {
  return { username: AUDIT_USERNAME, groups: config.exemptions.allowedGroups.slice(0, 1) };
}

/** check's descriptors (the rules and the policy's checks) and the audit's own checks, for SARIF and JUnit. */
function descriptorsOf(config: Config): RuleDescriptor[] {
  const checks = AUDIT_CHECKS.map((check): RuleDescriptor => ({
    id: check.id,
    type: 'validating',
    description: check.description,
    defaultMode: 'warn',
    helpUri: `${AUDIT_DOCS_URL}#${check.id}`,
    kinds: check.kinds,
  }));
  return [...ruleDescriptorsOf(config), ...checks];
}

/** On a terminal, unless NO_COLOR is set to anything (https://no-color.org). */
function colourFor(io: CliIo): boolean {
  return io.stdout.isTTY === true && (io.env['NO_COLOR'] === undefined || io.env['NO_COLOR'] === '');
}

interface Progress {
  (kind: AuditKind, items: number): void;
  done(): void;
}

/** `listing pods: 1500` rewritten in place when stderr is a terminal; nothing otherwise. */
function progressLine(io: Pick<CliIo, 'stderr'>): Progress {
  const counts = new Map<string, number>();
  let shown = false;
  const update = (kind: AuditKind, items: number): void => {
    if (io.stderr.isTTY !== true) return;
    const count = (counts.get(kind.kind) ?? 0) + items;
    counts.set(kind.kind, count);
    io.stderr.write(`\r\x1b[Klisting ${resourceNameOf(kind)}: ${count}`);
    shown = true;
  };
  return Object.assign(update, {
    done: (): void => {
      if (shown) io.stderr.write('\r\x1b[K');
    },
  });
}
