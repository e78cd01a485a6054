import type { PatchOperation } from '../admission/json-patch.ts';
import { MODES, type Mode } from '../admission/mode.ts';

/**
 * The report of one run of `dapr-guard check` or `dapr-guard audit`, whatever the objects came from:
 * what every output format is written from. Stable: fields are added, never renamed.
 */
export interface Report {
  readonly tool: { readonly name: string; readonly version: string };
  /** The command that produced it: `check` or `audit`. */
  readonly command: string;
  /** Every rule that ran (and the policy's own checks), for SARIF's rule table and JUnit's test cases. */
  readonly rules: readonly RuleDescriptor[];
  /** The reviewed objects, in input order, each with what was found (possibly nothing). */
  readonly objects: readonly ReviewedObject[];
  /** Input that could not be read or parsed: an unreadable file, a YAML syntax error, an unreachable cluster. */
  readonly problems: readonly InputProblem[];
  /** What was read but not reviewed. */
  readonly skipped: SkippedCounts;
  /** The sources read (files, `-`, a cluster's name), including those without any finding or object. */
  readonly sources: readonly string[];
}

export interface RuleDescriptor {
  readonly id: string;
  /** `mutating` and `validating` are rules; `policy` marks the policy's own checks (exemptions, namespace labels). */
  readonly type: 'mutating' | 'validating' | 'policy';
  readonly description: string;
  readonly defaultMode: Mode;
  /** The rule's documentation page. */
  readonly helpUri: string;
  /** The kinds of object it reviews (kind names); absent: the policy's own checks, which may concern any object. */
  readonly kinds?: readonly string[];
}

/** The ids of the rules (not the policy's checks) that review objects of `kind`: a report's `rulesApplied`. */
export function rulesReviewing(rules: readonly RuleDescriptor[], kind: string): string[] {
  return rules.filter((rule) => rule.type !== 'policy' && rule.kinds?.includes(kind) !== false).map((rule) => rule.id);
}

/** Where an object is: at a line of a file (or of standard input), or in a cluster. */
export type Location = FileLocation | ClusterLocation;

export interface FileLocation {
  readonly type: 'file';
  /** As given on the command line (relative paths stay relative); `-` for standard input. */
  readonly path: string;
  /** 1-based line of the object's first line in the file. */
  readonly line: number;
  /** 0-based index of the YAML document in the file (0 for a JSON file). */
  readonly document: number;
  /** 0-based index in `items` when the object is an item of a `kind: List` (or `*List`). */
  readonly item?: number;
}

export interface ClusterLocation {
  readonly type: 'cluster';
  /** The cluster's name as the user knows it (the kubeconfig context), when there is one. */
  readonly cluster?: string;
}

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name?: string;
}

export interface ReviewedObject {
  readonly location: Location;
  readonly object: ObjectRef;
  /** The rules that reviewed this object (the enabled ones it is not exempt from). */
  readonly rulesApplied: readonly string[];
  readonly findings: readonly ReportFinding[];
}

/**
 * One thing found about an object: a violation, a change a mutating rule makes (or would make), or a
 * notice about the review itself. The message never contains a secret value.
 */
export interface ReportFinding {
  readonly kind: 'violation' | 'mutation' | 'notice';
  readonly ruleId: string;
  readonly mode: Mode;
  readonly message: string;
  /** For a mutation: the JSON Patch (RFC 6902) that adds the rule's values. */
  readonly patch?: readonly PatchOperation[];
}

export interface InputProblem {
  /** The file (as given), `-`, or the cluster. */
  readonly source: string;
  /** 1-based, when the problem has a position (a YAML syntax error). */
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

export interface SkippedCounts {
  /** Documents that are not Kubernetes objects: empty, or without apiVersion or kind. */
  readonly notObjects: number;
  /** Objects of kinds dapr-guard does not review (its webhooks are never called for them). */
  readonly unreviewedKinds: number;
}

/** Which violations fail a run: `enforce` only (the default), or `warn` and `enforce`. */
export const FAIL_ON = ['enforce', 'warn'] as const;
export type FailOn = (typeof FAIL_ON)[number];

export const EXIT_OK = 0;
export const EXIT_VIOLATIONS = 1;
export const EXIT_USAGE_OR_INPUT = 2;

/** A violation in one of these modes fails the run. */
export function failingModes(failOn: FailOn): ReadonlySet<Mode> {
  return new Set<Mode>(failOn === 'warn' ? ['enforce', 'warn'] : ['enforce']);
}

export function isFailing(finding: ReportFinding, failOn: FailOn): boolean {
  return finding.kind === 'violation' && failingModes(failOn).has(finding.mode);
}

export interface ReportSummary {
  readonly objects: number;
  readonly sources: number;
  readonly violations: Readonly<Record<Mode, number>>;
  readonly mutations: number;
  readonly notices: number;
  readonly problems: number;
  readonly skipped: SkippedCounts;
  readonly failingViolations: number;
}

export function summaryOf(report: Report, failOn: FailOn): ReportSummary {
  const findings = report.objects.flatMap((object) => object.findings);
  const violations = Object.fromEntries(
    MODES.map((mode) => [mode, findings.filter((f) => f.kind === 'violation' && f.mode === mode).length]),
  ) as Record<Mode, number>;
  return {
    objects: report.objects.length,
    sources: sourcesOf(report).length,
    violations,
    mutations: findings.filter((finding) => finding.kind === 'mutation').length,
    notices: findings.filter((finding) => finding.kind === 'notice').length,
    problems: report.problems.length,
    skipped: report.skipped,
    failingViolations: findings.filter((finding) => isFailing(finding, failOn)).length,
  };
}

/**
 * 2 when some input could not be read (the check is incomplete, whatever it found elsewhere), else 1
 * when a violation fails the run, else 0.
 */
export function exitCodeOf(report: Report, failOn: FailOn): number {
  if (report.problems.length > 0) return EXIT_USAGE_OR_INPUT;
  const summary = summaryOf(report, failOn);
  return summary.failingViolations > 0 ? EXIT_VIOLATIONS : EXIT_OK;
}

/** `Deployment shop/orders`, `ClusterRole dapr-operator-admin`: how the formats name an object. */
export function describeObjectRef(object: ObjectRef): string {
  const name = object.name ?? '(no name)';
  return `${object.kind} ${object.namespace === undefined ? name : `${object.namespace}/${name}`}`;
}

/** `path:line`, or `cluster <name>` for an object in a cluster. */
export function describeLocation(location: Location, object: ObjectRef): string {
  if (location.type === 'file') return `${location.path}:${location.line}`;
  return `${location.cluster === undefined ? 'cluster' : `cluster ${location.cluster}`} ${describeObjectRef(object)}`;
}

/**
 * The report's sources in order, followed by any source an object or a problem names that the list
 * left out, so that no format drops a finding.
 */
export function sourcesOf(report: Report): string[] {
  return [
    ...new Set([
      ...report.sources,
      ...report.objects.map((object) => sourceOf(object.location)),
      ...report.problems.map((problem) => problem.source),
    ]),
  ];
}

/** The source an object belongs to, for grouping: its file, or its cluster. */
export function sourceOf(location: Location): string {
  return location.type === 'file' ? location.path : (location.cluster ?? 'cluster');
}
