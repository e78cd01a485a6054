import { summaryOf, type FailOn, type Location, type Report, type ReviewedObject } from './model.ts';

/** The version of the JSON format (docs/report-json.md): raised only when a field changes meaning or goes. */
export const JSON_REPORT_SCHEMA_VERSION = 1;

export interface JsonOptions {
  readonly failOn: FailOn;
}

/**
 * The machine format: one JSON document with a schema version, the summary, one entry per finding
 * (with where it is and which object it is about) and the input problems. Documented in docs/report-json.md.
 */
export function formatJson(report: Report, options: JsonOptions): string {
  const summary = summaryOf(report, options.failOn);
  const document = {
    schemaVersion: JSON_REPORT_SCHEMA_VERSION,
    tool: report.tool,
    command: report.command,
    failOn: options.failOn,
    summary: {
      passed: summary.problems === 0 && summary.failingViolations === 0,
      sources: summary.sources,
      objects: summary.objects,
      violations: summary.violations,
      failingViolations: summary.failingViolations,
      mutations: summary.mutations,
      notices: summary.notices,
      problems: summary.problems,
      skipped: summary.skipped,
    },
    findings: report.objects.flatMap(findingEntries),
    problems: report.problems.map((problem) => ({
      source: problem.source,
      ...(problem.line === undefined ? {} : { line: problem.line }),
      ...(problem.column === undefined ? {} : { column: problem.column }),
      message: problem.message,
    })),
    rules: report.rules,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

function findingEntries(object: ReviewedObject): object[] {
  return object.findings.map((finding) => ({
    ...locationFields(object.location),
    object: object.object,
    type: finding.kind,
    ruleId: finding.ruleId,
    mode: finding.mode,
    message: finding.message,
    ...(finding.patch === undefined ? {} : { patch: finding.patch }),
  }));
}

function locationFields(location: Location): object {
  if (location.type === 'cluster') return { cluster: location.cluster ?? null };
  return {
    file: location.path,
    line: location.line,
    document: location.document,
    ...(location.item === undefined ? {} : { item: location.item }),
  };
}
