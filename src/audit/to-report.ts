import {
  rulesReviewing,
  type Report,
  type ReportFinding,
  type ReviewedObject,
  type RuleDescriptor,
} from '../report/model.ts';
import { refKeyOf, type AuditFinding, type AuditResult, type ObjectRef } from './model.ts';

export interface AuditReportContext {
  /** The kubeconfig context the audit read: the report's one source. */
  readonly cluster: string;
  readonly version: string;
  readonly rules: readonly RuleDescriptor[];
}

/**
 * The audit in the report model `check` uses, so that every output format (text, json, sarif, junit)
 * and exit code is the same: each reviewed object with its findings, then the objects only an audit
 * check found something about (a Secret, a Namespace), the missing permissions as input problems.
 */
export function auditReport(result: AuditResult, context: AuditReportContext): Report {
  const byObject = new Map<string, AuditFinding[]>();
  const extra: ObjectRef[] = [];
  const reviewed = new Set(result.objects.map(refKeyOf));
  for (const finding of result.findings) {
    if (finding.object === undefined) continue;
    const key = refKeyOf(finding.object);
    if (!reviewed.has(key) && !byObject.has(key)) extra.push(finding.object);
    byObject.set(key, [...(byObject.get(key) ?? []), finding]);
  }
  const location = { type: 'cluster', cluster: context.cluster } as const;
  const entry = (ref: ObjectRef, applied: readonly string[]): ReviewedObject => {
    const findings = byObject.get(refKeyOf(ref)) ?? [];
    return { location, object: objectOf(ref), rulesApplied: applied, findings: findings.map(reportFindingOf) };
  };
  return {
    tool: { name: 'dapr-guard', version: context.version },
    command: 'audit',
    rules: context.rules,
    objects: [
      ...result.objects.map((ref) => entry(ref, rulesReviewing(context.rules, ref.kind))),
      ...extra.map((ref) => entry(ref, [...new Set((byObject.get(refKeyOf(ref)) ?? []).map((f) => f.ruleId))])),
    ],
    problems: result.problems.map((message) => ({ source: context.cluster, message })),
    skipped: { notObjects: 0, unreviewedKinds: 0 },
    sources: [context.cluster],
  };
}

function objectOf(ref: ObjectRef): ReviewedObject['object'] {
  return {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }),
    name: ref.name,
  };
}

function reportFindingOf(finding: AuditFinding): ReportFinding {
  return { kind: finding.kind, ruleId: finding.ruleId, mode: finding.mode, message: finding.message };
}
