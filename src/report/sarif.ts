import type { Mode } from '../admission/mode.ts';
import type { InputProblem, Location, Report, ReportFinding, ReviewedObject, RuleDescriptor } from './model.ts';

/** Where GitHub code scanning and most SARIF tools look the 2.1.0 schema up. */
export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';
export const TOOL_INFORMATION_URI = 'https://github.com/dapr-guard/dapr-guard';

type SarifLevel = 'error' | 'warning' | 'note';

const LEVEL: Readonly<Record<Mode, SarifLevel>> = { enforce: 'error', warn: 'warning', audit: 'note' };

/**
 * SARIF 2.1.0 (OASIS), as GitHub code scanning accepts it: one reportingDescriptor per rule, one
 * result per finding with its file and line, the level from the mode (a mutation is a note: the
 * webhook would add the value, not refuse the object). Input problems are tool notifications, and make
 * the invocation unsuccessful. No snippet of the file is included: it could hold a secret value.
 */
export function formatSarif(report: Report): string {
  const rules = descriptorsOf(report);
  const indexOf = new Map(rules.map((rule, index) => [rule.id, index]));
  const log = {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: report.tool.name,
            version: report.tool.version,
            semanticVersion: report.tool.version,
            informationUri: TOOL_INFORMATION_URI,
            rules: rules.map(reportingDescriptor),
          },
        },
        invocations: [
          {
            executionSuccessful: report.problems.length === 0,
            toolExecutionNotifications: report.problems.map(notification),
          },
        ],
        results: report.objects.flatMap((object) =>
          object.findings.map((finding) => result(object, finding, indexOf.get(finding.ruleId) ?? 0)),
        ),
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

/** The report's rules, plus any rule id a finding names that the report did not describe. */
function descriptorsOf(report: Report): RuleDescriptor[] {
  const known = new Set(report.rules.map((rule) => rule.id));
  const extra = [...new Set(report.objects.flatMap((object) => object.findings.map((finding) => finding.ruleId)))]
    .filter((id) => !known.has(id))
    .map((id): RuleDescriptor => ({
      id,
      type: 'policy',
      description: id,
      defaultMode: 'enforce',
      helpUri: TOOL_INFORMATION_URI,
    }));
  return [...report.rules, ...extra];
}

function reportingDescriptor(rule: RuleDescriptor): object {
  return {
    id: rule.id,
    shortDescription: { text: rule.description },
    fullDescription: { text: rule.description },
    help: {
      text: `${rule.description} Documentation: ${rule.helpUri}`,
      markdown: `${rule.description}\n\n[Documentation of ${rule.id}](${rule.helpUri})`,
    },
    helpUri: rule.helpUri,
    defaultConfiguration: { level: LEVEL[rule.defaultMode] },
    properties: { type: rule.type, defaultMode: rule.defaultMode, tags: ['dapr', 'kubernetes'] },
  };
}

function result(object: ReviewedObject, finding: ReportFinding, ruleIndex: number): object {
  return {
    ruleId: finding.ruleId,
    ruleIndex,
    kind: finding.kind === 'violation' ? 'fail' : 'informational',
    level: finding.kind === 'violation' ? LEVEL[finding.mode] : 'note',
    message: { text: finding.message },
    locations: [sarifLocation(object.location, object)],
    properties: {
      mode: finding.mode,
      findingType: finding.kind,
      object: object.object,
      ...(object.location.type === 'file' ? { document: object.location.document } : {}),
      ...(finding.patch === undefined ? {} : { patch: finding.patch }),
    },
  };
}

function sarifLocation(location: Location, object: ReviewedObject): object {
  const logical = {
    logicalLocations: [{ name: object.object.name ?? '', fullyQualifiedName: qualifiedName(object), kind: 'object' }],
  };
  if (location.type === 'cluster') return logical;
  return {
    physicalLocation: { artifactLocation: { uri: fileUri(location.path) }, region: { startLine: location.line } },
    ...logical,
  };
}

/** `namespace/Kind/name` (`Kind/name` when cluster-scoped). */
function qualifiedName(object: ReviewedObject): string {
  const { kind, namespace, name } = object.object;
  return [namespace, kind, name ?? ''].filter((part) => part !== undefined).join('/');
}

function notification(problem: InputProblem): object {
  const region = {
    ...(problem.line === undefined ? {} : { startLine: problem.line }),
    ...(problem.column === undefined ? {} : { startColumn: problem.column }),
  };
  return {
    level: 'error',
    message: { text: problem.message },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: fileUri(problem.source) },
          ...(Object.keys(region).length === 0 ? {} : { region }),
        },
      },
    ],
  };
}

/**
 * A path as a URI reference: relative paths stay relative (GitHub resolves them against the
 * repository root), `\` becomes `/`, a leading `./` goes, and what a URI cannot hold is percent-encoded.
 */
export function fileUri(path: string): string {
  const slashed = path.replaceAll('\\', '/').replace(/^(?:\.\/)+/, '');
  const encoded = slashed
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
  return slashed.startsWith('/') ? `file://${encoded}` : encoded;
}
