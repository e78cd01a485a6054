import type { AuditFinding, AuditResult, Severity } from './model.ts';

/** `--report-api`: OpenReports (Policy Reporter 3, Kyverno 1.15) or the older wg-policy API. */
export type ReportApi = 'openreports.io/v1alpha1' | 'wgpolicyk8s.io/v1alpha2';

export const REPORT_NAME = 'dapr-guard';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'dapr-guard';
const SOURCE = 'dapr-guard';
const CATEGORY = 'Dapr production guidelines';
/**
 * Results per report: a Report is one etcd object (1.5 MiB at most); 1000 results of ~600 bytes stay
 * well below. The summary still counts every finding.
 */
export const MAX_RESULTS = 1000;

export interface ReportKinds {
  readonly apiVersion: ReportApi;
  readonly namespaced: { readonly kind: string; readonly resource: string };
  readonly cluster: { readonly kind: string; readonly resource: string };
}

export const REPORT_KINDS: Readonly<Record<ReportApi, ReportKinds>> = {
  'openreports.io/v1alpha1': {
    apiVersion: 'openreports.io/v1alpha1',
    namespaced: { kind: 'Report', resource: 'reports' },
    cluster: { kind: 'ClusterReport', resource: 'clusterreports' },
  },
  'wgpolicyk8s.io/v1alpha2': {
    apiVersion: 'wgpolicyk8s.io/v1alpha2',
    namespaced: { kind: 'PolicyReport', resource: 'policyreports' },
    cluster: { kind: 'ClusterPolicyReport', resource: 'clusterpolicyreports' },
  },
};

type ReportResult = 'fail' | 'warn';
const RESULT_OF: Readonly<Record<Severity, ReportResult>> = { error: 'fail', warning: 'warn', info: 'warn' };
/** Both APIs know high, medium and low (OpenReports adds critical and info). */
const SEVERITY_OF: Readonly<Record<Severity, string>> = { error: 'high', warning: 'medium', info: 'low' };

export interface ReportObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly resourceVersion?: string;
  };
  readonly [field: string]: unknown;
}

/** What the run should leave in the cluster: one report per namespace reviewed, and one for the cluster. */
export interface DesiredReports {
  /** By namespace; '' is the cluster report. */
  readonly reports: ReadonlyMap<string, ReportObject>;
  /** Namespaces whose results were cut to MAX_RESULTS. */
  readonly truncated: readonly string[];
}

/**
 * The reports of an audit: in each namespace the audit reviewed (even without findings, so that a
 * fixed object's result disappears), a result per object and rule; cluster-scoped findings (and those
 * about the cluster as a whole) in the cluster report; with `onlyNamespace` (--namespace) that
 * namespace's report alone, so that a run never writes outside what it audited.
 */
export function reportsOf(
  result: AuditResult,
  api: ReportApi,
  now: Date,
  onlyNamespace: string | undefined,
): DesiredReports {
  const byNamespace = findingsByNamespace(result, onlyNamespace);
  const reports = new Map<string, ReportObject>();
  const truncated: string[] = [];
  for (const [namespace, findings] of byNamespace) {
    if (findings.length > MAX_RESULTS) truncated.push(namespace);
    const reviewed = result.reviewed[namespace] ?? 0;
    reports.set(namespace, reportOf(api, { namespace, findings, reviewed }, now));
  }
  return { reports, truncated };
}

/** Every reviewed namespace (with no findings too), and '' for the cluster, or `onlyNamespace` alone. */
function findingsByNamespace(result: AuditResult, onlyNamespace: string | undefined): Map<string, AuditFinding[]> {
  const withCluster = onlyNamespace === undefined;
  const inScope = (namespace: string): boolean => onlyNamespace === undefined || namespace === onlyNamespace;
  const byNamespace = new Map<string, AuditFinding[]>();
  for (const namespace of Object.keys(result.reviewed)) if (inScope(namespace)) byNamespace.set(namespace, []);
  if (withCluster && !byNamespace.has('')) byNamespace.set('', []);
  for (const finding of result.findings) {
    const namespace = finding.object?.namespace ?? '';
    if (!inScope(namespace)) continue;
    const list = byNamespace.get(namespace) ?? [];
    list.push(finding);
    byNamespace.set(namespace, list);
  }
  return byNamespace;
}

interface NamespaceFindings {
  readonly namespace: string;
  readonly findings: readonly AuditFinding[];
  /** Objects the review core looked at there: those without a finding count as passed. */
  readonly reviewed: number;
}

function reportOf(api: ReportApi, { namespace, findings, reviewed }: NamespaceFindings, now: Date): ReportObject {
  const kinds = REPORT_KINDS[api];
  const objectsWithFindings = new Set(
    findings.flatMap((finding) => (finding.object === undefined ? [] : [refKey(finding)])),
  );
  const count = (outcome: ReportResult): number =>
    findings.filter((finding) => RESULT_OF[finding.severity] === outcome).length;
  const timestamp = { seconds: Math.floor(now.getTime() / 1000), nanos: 0 };
  return {
    apiVersion: kinds.apiVersion,
    kind: namespace === '' ? kinds.cluster.kind : kinds.namespaced.kind,
    metadata: {
      name: REPORT_NAME,
      ...(namespace === '' ? {} : { namespace }),
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
    },
    ...(api === 'openreports.io/v1alpha1' ? { source: SOURCE } : {}),
    summary: {
      pass: Math.max(0, reviewed - objectsWithFindings.size),
      fail: count('fail'),
      warn: count('warn'),
      error: 0,
      skip: 0,
    },
    results: findings.slice(0, MAX_RESULTS).map((finding) => resultOf(finding, timestamp)),
  };
}

function resultOf(finding: AuditFinding, timestamp: { seconds: number; nanos: number }): Record<string, unknown> {
  const object = finding.object;
  return {
    source: SOURCE,
    policy: finding.ruleId,
    rule: finding.ruleId,
    category: CATEGORY,
    result: RESULT_OF[finding.severity],
    severity: SEVERITY_OF[finding.severity],
    scored: true,
    message: finding.message,
    timestamp,
    ...(object === undefined
      ? {}
      : {
          resources: [
            {
              apiVersion: object.apiVersion,
              kind: object.kind,
              name: object.name,
              ...(object.namespace === undefined ? {} : { namespace: object.namespace }),
              ...(object.uid === undefined ? {} : { uid: object.uid }),
            },
          ],
        }),
    ...(finding.remedy === undefined ? {} : { properties: { remedy: finding.remedy } }),
  };
}

function refKey(finding: AuditFinding): string {
  const object = finding.object;
  return `${object?.kind ?? ''}/${object?.namespace ?? ''}/${object?.name ?? ''}`;
}
