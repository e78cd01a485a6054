import {
  describeLocation,
  describeObjectRef,
  isFailing,
  sourceOf,
  sourcesOf,
  type FailOn,
  type InputProblem,
  type Report,
  type ReportFinding,
  type ReviewedObject,
} from './model.ts';

export interface JunitOptions {
  readonly failOn: FailOn;
}

interface TestCase {
  readonly xml: string;
  readonly failed: boolean;
  readonly errored: boolean;
}

/**
 * JUnit XML as GitLab, Jenkins and Azure Pipelines read it: a test suite per source, a test case per
 * object and rule that reviewed it, a `<failure>` for each violation that fails the run (`--fail-on`),
 * the other findings (warnings below the threshold, would-be changes) in the case's `<system-out>`,
 * and an `<error>` case for input that could not be read.
 */
export function formatJunit(report: Report, options: JunitOptions): string {
  const suites = sourcesOf(report).map((source) => suite(source, report, options.failOn));
  const cases = suites.flatMap((entry) => entry.cases);
  const header = `<testsuites name="${attribute(`dapr-guard ${report.command}`)}" ${counts(cases)}>`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    header,
    ...suites.flatMap((entry) => entry.xml),
    '</testsuites>',
    '',
  ].join('\n');
}

function suite(source: string, report: Report, failOn: FailOn): { readonly xml: string[]; readonly cases: TestCase[] } {
  const cases = [
    ...report.problems.filter((problem) => problem.source === source).map(problemCase),
    ...report.objects
      .filter((object) => sourceOf(object.location) === source)
      .flatMap((object) => objectCases(object, failOn)),
  ];
  const xml = [
    `  <testsuite name="${attribute(source)}" ${counts(cases)}>`,
    ...cases.map((entry) => entry.xml),
    '  </testsuite>',
  ];
  return { xml, cases };
}

function counts(cases: readonly TestCase[]): string {
  const failures = cases.filter((entry) => entry.failed).length;
  const errors = cases.filter((entry) => entry.errored).length;
  return `tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="0"`;
}

function objectCases(object: ReviewedObject, failOn: FailOn): TestCase[] {
  const ruleIds = [...new Set([...object.rulesApplied, ...object.findings.map((finding) => finding.ruleId)])];
  return ruleIds.map((ruleId) =>
    ruleCase(
      object,
      ruleId,
      object.findings.filter((finding) => finding.ruleId === ruleId),
      failOn,
    ),
  );
}

function ruleCase(
  object: ReviewedObject,
  ruleId: string,
  findings: readonly ReportFinding[],
  failOn: FailOn,
): TestCase {
  const where = describeLocation(object.location, object.object);
  const location =
    object.location.type === 'file' ? ` file="${attribute(object.location.path)}" line="${object.location.line}"` : '';
  const open = `    <testcase classname="${attribute(sourceOf(object.location))}" name="${attribute(`${describeObjectRef(object.object)} [${ruleId}]`)}"${location}`;
  const failing = findings.filter((finding) => isFailing(finding, failOn));
  const other = findings.filter((finding) => !isFailing(finding, failOn));
  if (failing.length === 0 && other.length === 0) return { xml: `${open}/>`, failed: false, errored: false };
  const body = [
    ...failing.map(
      (finding) =>
        `      <failure type="${finding.mode}" message="${attribute(finding.message)}">${text(`${where}: [${ruleId}] (${finding.mode}) ${finding.message}`)}</failure>`,
    ),
    ...(other.length === 0
      ? []
      : [
          `      <system-out>${text(other.map((finding) => `${where}: [${ruleId}] (${finding.mode}) ${finding.message}`).join('\n'))}</system-out>`,
        ]),
  ];
  return { xml: [`${open}>`, ...body, '    </testcase>'].join('\n'), failed: failing.length > 0, errored: false };
}

function problemCase(problem: InputProblem): TestCase {
  const where = problem.line === undefined ? problem.source : `${problem.source}:${problem.line}`;
  return {
    xml: [
      `    <testcase classname="${attribute(problem.source)}" name="${attribute(`read ${problem.source}`)}">`,
      `      <error type="input" message="${attribute(problem.message)}">${text(`${where}: ${problem.message}`)}</error>`,
      '    </testcase>',
    ].join('\n'),
    failed: false,
    errored: true,
  };
}

/** Characters XML 1.0 cannot hold at all (most control characters, lone surrogates): replaced, not escaped. */
// eslint-disable-next-line no-control-regex -- these are the characters to replace
const NOT_XML_CHARACTER = /[\u0000-\u0008\v\f\u000e-\u001f\ufffe\uffff]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function text(value: string): string {
  return value
    .replace(NOT_XML_CHARACTER, '\ufffd')
    .replace(LONE_SURROGATE, '\ufffd')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;');
}

function attribute(value: string): string {
  return text(value)
    .replaceAll('"', '&quot;')
    .replaceAll('\n', '&#10;')
    .replaceAll('\t', '&#9;')
    .replaceAll('\r', '&#13;');
}
