import type { Mode } from '../admission/mode.ts';
import {
  describeLocation,
  sourceOf,
  sourcesOf,
  summaryOf,
  type FailOn,
  type InputProblem,
  type Report,
  type ReportFinding,
  type ReviewedObject,
} from './model.ts';

export interface TextOptions {
  readonly failOn: FailOn;
  /** ANSI colours: only on a terminal, and never with NO_COLOR (the caller decides). */
  readonly color: boolean;
}

const STYLES = { red: '31', yellow: '33', cyan: '36', dim: '2', bold: '1' } as const;
type Style = keyof typeof STYLES;

const MODE_STYLE: Readonly<Record<Mode, Style>> = { enforce: 'red', warn: 'yellow', audit: 'cyan' };

/**
 * The human format: one block per source (file or cluster) in input order, each finding as
 * `path:line: [rule-id] (mode) message`, then a summary line with the counts per mode.
 */
export function formatText(report: Report, options: TextOptions): string {
  const paint = painter(options.color);
  const blocks = sourcesOf(report)
    .map((source) => sourceBlock(source, report, paint))
    .filter((block) => block.length > 0);
  return [...blocks.map((lines) => `${lines.join('\n')}\n`), `${summaryLine(report, options.failOn, paint)}\n`].join(
    '\n',
  );
}

type Paint = (style: Style, text: string) => string;

function painter(color: boolean): Paint {
  return color ? (style, text) => `\u001b[${STYLES[style]}m${text}\u001b[0m` : (_style, text) => text;
}

function sourceBlock(source: string, report: Report, paint: Paint): string[] {
  const problems = report.problems.filter((problem) => problem.source === source);
  const objects = report.objects.filter((object) => sourceOf(object.location) === source);
  return [
    ...problems.map((problem) => problemLine(problem, paint)),
    ...objects.flatMap((object) => object.findings.map((finding) => findingLine(object, finding, paint))),
  ];
}

function findingLine(object: ReviewedObject, finding: ReportFinding, paint: Paint): string {
  const where = printable(describeLocation(object.location, object.object));
  const style = finding.kind === 'violation' ? MODE_STYLE[finding.mode] : 'dim';
  return `${paint('bold', `${where}:`)} ${paint(style, `[${finding.ruleId}] (${finding.mode})`)} ${printable(finding.message)}`;
}

function problemLine(problem: InputProblem, paint: Paint): string {
  const where = problem.line === undefined ? problem.source : `${problem.source}:${problem.line}`;
  return `${paint('bold', `${printable(where)}:`)} ${paint('red', 'error:')} ${printable(problem.message)}`;
}

function summaryLine(report: Report, failOn: FailOn, paint: Paint): string {
  const summary = summaryOf(report, failOn);
  const { enforce, warn, audit } = summary.violations;
  const parts = [
    `${count(summary.objects, 'object')} in ${count(summary.sources, report.command === 'audit' ? 'source' : 'file')}`,
    `violations: ${enforce} enforce, ${warn} warn, ${audit} audit`,
    `${count(summary.mutations, 'would-be change')}`,
    ...(summary.notices > 0 ? [count(summary.notices, 'notice')] : []),
    ...(summary.skipped.notObjects > 0
      ? [`${count(summary.skipped.notObjects, 'document')} skipped (not objects)`]
      : []),
    ...(summary.skipped.unreviewedKinds > 0
      ? [`${count(summary.skipped.unreviewedKinds, 'object')} of kinds not reviewed`]
      : []),
    ...(summary.problems > 0 ? [count(summary.problems, 'input problem')] : []),
  ];
  const verdict = summary.problems > 0 ? 'incomplete' : summary.failingViolations > 0 ? 'failed' : 'passed';
  const style: Style = verdict === 'passed' ? 'bold' : 'red';
  return `${paint(style, `dapr-guard ${report.command} ${verdict}:`)} ${parts.join('; ')}`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

// eslint-disable-next-line no-control-regex -- these are the characters to escape
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/** A file name or message as one line of inert text: control characters (a newline, an ANSI escape) are escaped. */
function printable(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
