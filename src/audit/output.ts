import { describeRef, type AuditFinding, type AuditResult, type Severity } from './model.ts';

/** What the run was about, for the header of every format. */
export interface AuditScope {
  readonly server: string;
  readonly context: string;
  readonly namespace: string | undefined;
  readonly selector: string | undefined;
}

export interface AuditSummary {
  readonly error: number;
  readonly warning: number;
  readonly info: number;
}

export function summaryOf(findings: readonly AuditFinding[]): AuditSummary {
  const count = (severity: Severity): number => findings.filter((finding) => finding.severity === severity).length;
  return { error: count('error'), warning: count('warning'), info: count('info') };
}

/** 0 when nothing would be denied, 1 when a finding is at error (as `check`). */
export function exitCodeOf(result: AuditResult): 0 | 1 {
  return result.findings.some((finding) => finding.severity === 'error') ? 1 : 0;
}

const LABELS: Readonly<Record<Severity, string>> = { error: 'ERROR', warning: 'WARN ', info: 'INFO ' };

function total(counts: Readonly<Record<string, number>>): number {
  return Object.values(counts).reduce((sum, count) => sum + count, 0);
}

/** One line per finding, notes first, a summary last. */
export function formatText(result: AuditResult, scope: AuditScope): string {
  const where = scope.namespace === undefined ? 'all namespaces' : `namespace ${scope.namespace}`;
  const selector = scope.selector === undefined ? '' : `, selector ${JSON.stringify(scope.selector)}`;
  const lines = [
    `dapr-guard audit of ${scope.server} (context ${scope.context}, ${where}${selector}): ` +
      `${total(result.listed)} objects listed, ${total(result.reviewed)} reviewed`,
    ...result.notes.map((note) => `note: ${note}`),
    ...result.findings.map((finding) => {
      const object = finding.object === undefined ? 'cluster' : describeRef(finding.object);
      return `${LABELS[finding.severity]} [${finding.ruleId}] ${object}: ${finding.message}`;
    }),
  ];
  const summary = summaryOf(result.findings);
  lines.push(`${summary.error} error(s), ${summary.warning} warning(s), ${summary.info} info`);
  return `${lines.join('\n')}\n`;
}

/** The result as one JSON document (`dapr-guard.io/v1alpha1` AuditResult). */
export function formatJson(result: AuditResult, scope: AuditScope): string {
  const document = {
    apiVersion: 'dapr-guard.io/v1alpha1',
    kind: 'AuditResult',
    scope: {
      server: scope.server,
      context: scope.context,
      ...(scope.namespace === undefined ? {} : { namespace: scope.namespace }),
      ...(scope.selector === undefined ? {} : { selector: scope.selector }),
    },
    summary: summaryOf(result.findings),
    listed: result.listed,
    reviewed: result.reviewed,
    notes: result.notes,
    findings: result.findings,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
