import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { formatReport, OUTPUT_FORMATS, type OutputFormat } from '../../src/report/format.ts';
import { fileUri } from '../../src/report/sarif.ts';
import { exitCodeOf, summaryOf, type Report } from '../../src/report/model.ts';
import { SAMPLE_REPORT } from './sample.ts';

const GOLDEN = new URL('golden/', import.meta.url);
const EXTENSION: Readonly<Record<OutputFormat, string>> = { text: 'txt', json: 'json', sarif: 'sarif', junit: 'xml' };

function golden(name: string): string {
  return readFileSync(new URL(name, GOLDEN), 'utf8');
}

/** The SARIF 2.1.0 schema (test/fixtures/sarif/README.md) with a real JSON-schema validator. */
export function sarifValidator(): (document: unknown) => string[] {
  const schema = JSON.parse(
    readFileSync(new URL('../fixtures/sarif/sarif-schema-2.1.0.json', import.meta.url), 'utf8'),
  ) as object;
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats.default(ajv);
  const validate = ajv.compile(schema);
  return (document) => {
    if (validate(document)) return [];
    return (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message ?? ''}`);
  };
}

describe('output formats (golden files in test/report/golden/)', () => {
  assert.equal(OUTPUT_FORMATS.length, 4);
  for (const format of OUTPUT_FORMATS) {
    test(`${format}`, () => {
      assert.equal(
        formatReport(SAMPLE_REPORT, format, { failOn: 'enforce', color: false }),
        golden(`sample.${EXTENSION[format]}`),
      );
    });
  }

  test('text: colour only when asked, and --fail-on warn turns the warning into a failure', () => {
    const coloured = formatReport(SAMPLE_REPORT, 'text', { failOn: 'enforce', color: true });
    const escape = '\u001b';
    assert.ok(coloured.includes(`${escape}[31m[component-plaintext-secrets] (enforce)${escape}[0m`));
    assert.ok(coloured.includes(`${escape}[33m[component-plaintext-secrets] (warn)${escape}[0m`));
    const plain = formatReport(SAMPLE_REPORT, 'text', { failOn: 'enforce', color: false });
    assert.ok(!plain.includes(escape));
    assert.equal(summaryOf(SAMPLE_REPORT, 'enforce').failingViolations, 1);
    assert.equal(summaryOf(SAMPLE_REPORT, 'warn').failingViolations, 2);
  });

  test('text and junit: a finding whose source the list leaves out is still shown', () => {
    const report: Report = { ...SAMPLE_REPORT, sources: [] };
    const lines = (text: string): string[] =>
      text
        .split('\n')
        .filter((line) => line !== '')
        .sort();
    for (const [format, file] of [
      ['text', 'sample.txt'],
      ['junit', 'sample.xml'],
    ] as const) {
      const written = formatReport(report, format, { failOn: 'enforce', color: false });
      assert.deepEqual(lines(written), lines(golden(file)), format);
    }
  });

  test('text: a file name with a newline or an escape sequence is printed inert', () => {
    const report: Report = {
      ...SAMPLE_REPORT,
      objects: [],
      problems: [{ source: 'a\n\u001b[2Jb.yaml', message: 'cannot read: EACCES' }],
      sources: ['a\n\u001b[2Jb.yaml'],
    };
    const text = formatReport(report, 'text', { failOn: 'enforce', color: false });
    assert.equal(text.split('\n')[0], 'a\\u000a\\u001b[2Jb.yaml: error: cannot read: EACCES');
  });

  test('junit: markup and control characters in names and messages are escaped', () => {
    const report: Report = {
      ...SAMPLE_REPORT,
      objects: [],
      problems: [{ source: '<x&"y">\u0001.yaml', message: 'bad ]]> </failure>' }],
      sources: ['<x&"y">\u0001.yaml'],
    };
    const xml = formatReport(report, 'junit', { failOn: 'enforce', color: false });
    assert.match(xml, /<testsuite name="&lt;x&amp;&quot;y&quot;&gt;\ufffd\.yaml"/);
    assert.match(xml, /message="bad \]\]&gt; &lt;\/failure&gt;"/);
  });
});

describe('exit codes', () => {
  const noProblems: Report = { ...SAMPLE_REPORT, problems: [] };
  const table: [string, Report, 'enforce' | 'warn', number][] = [
    ['an input problem: 2, whatever else was found', SAMPLE_REPORT, 'enforce', 2],
    ['an enforce violation: 1', noProblems, 'enforce', 1],
    ['only warnings, --fail-on enforce: 0', { ...noProblems, objects: noProblems.objects.slice(0, 1) }, 'enforce', 0],
    [
      'a warning, --fail-on warn: 1',
      {
        ...noProblems,
        objects: [
          {
            ...noProblems.objects[1]!,
            findings: noProblems.objects[1]!.findings.filter((finding) => finding.mode === 'warn'),
          },
        ],
      },
      'warn',
      1,
    ],
    ['nothing at all: 0', { ...noProblems, objects: [] }, 'enforce', 0],
  ];
  for (const [name, report, failOn, code] of table) {
    test(name, () => assert.equal(exitCodeOf(report, failOn), code));
  }
});

describe('SARIF', () => {
  const validate = sarifValidator();

  test('the sample is valid SARIF 2.1.0', () => {
    const log = JSON.parse(formatReport(SAMPLE_REPORT, 'sarif', { failOn: 'enforce', color: false })) as unknown;
    assert.deepEqual(validate(log), []);
  });

  test('the validator does refuse what is not SARIF', () => {
    assert.notDeepEqual(validate({ version: '2.1.0', runs: [{ results: [] }] }), []);
    assert.notDeepEqual(validate({ version: '2.0.0', runs: [] }), []);
  });

  test('file paths become URI references relative to the repository', () => {
    assert.equal(fileUri('./deploy/app.yaml'), 'deploy/app.yaml');
    assert.equal(fileUri('deploy\\my app.yaml'), 'deploy/my%20app.yaml');
    assert.equal(fileUri('/abs/x#1.yaml'), 'file:///abs/x%231.yaml');
    assert.equal(fileUri('-'), '-');
  });
});
