/**
 * The real-world corpus (test/fixtures/dapr-corpus, 298 files) through every registered validating
 * rule, compared with the facts in its EXPECTED.md, whose tables are parsed here, not copied.
 *
 * Expectations are asserted per rule id for component-plaintext-secrets, mtls-enabled and
 * observability. Other rules run too (so a crash anywhere fails this test) but their findings are
 * not checked here: a rule's owner adds its own expectations in a describe block of its own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AdmissionRequest, KubeObject } from '../../src/admission/wire.ts';
import { buildConfig } from '../../src/config/config.ts';
import type { Violation } from '../../src/policy/evaluation.ts';
import { evaluate } from '../../src/policy/evaluate.ts';
import { COMPONENT_PLAINTEXT_SECRETS_RULE_ID } from '../../src/rules/component-plaintext-secrets.ts';
import { configuredRules } from '../../src/config/policy.ts';
import { RULE_IDS } from '../../src/rules/index.ts';
import { MTLS_ENABLED_RULE_ID } from '../../src/rules/mtls-enabled.ts';
import { OBSERVABILITY_RULE_ID } from '../../src/rules/observability.ts';
import { fixtureFiles, fixtureText, yamlObjects } from '../support/fixtures.ts';
import { testPolicy } from '../support/policy.ts';
import { admissionRequest } from '../support/requests.ts';

const CORPUS = 'dapr-corpus/';

// ---- EXPECTED.md -------------------------------------------------------------------------------

type Row = Readonly<Record<string, string>>;

interface Section {
  readonly rows: readonly Row[];
  /** Lines of the section that are not part of its table (for `Rows: 79` and the like). */
  readonly text: string;
}

/** The `## <n>. …` sections of EXPECTED.md (`counts` for `## Counts`), each with its first table. */
function parseExpected(markdown: string): ReadonlyMap<string, Section> {
  const sections = new Map<string, Section>();
  for (const chunk of markdown.split(/^## /m).slice(1)) {
    const heading = chunk.slice(0, chunk.indexOf('\n'));
    const key = /^(\d+)\./.exec(heading)?.[1] ?? heading.trim().toLowerCase();
    sections.set(key, parseSection(chunk.split('\n').slice(1)));
  }
  return sections;
}

function parseSection(lines: readonly string[]): Section {
  const tableLines = lines.filter((line) => line.startsWith('|'));
  const text = lines.filter((line) => !line.startsWith('|')).join('\n');
  const [header, , ...body] = tableLines.map(cells);
  if (header === undefined) return { rows: [], text };
  return {
    rows: body.map((values) => Object.fromEntries(header.map((name, index) => [name, values[index] ?? '']))),
    text,
  };
}

function cells(line: string): string[] {
  return line
    .slice(1, line.lastIndexOf('|'))
    .split('|')
    .map((cell) => cell.trim());
}

function section(sections: ReadonlyMap<string, Section>, key: string): Section {
  const found = sections.get(key);
  assert.ok(found, `EXPECTED.md has no section ${key}`);
  return found;
}

function column(row: Row, name: string): string {
  const value = row[name];
  assert.ok(value !== undefined, `EXPECTED.md row has no column "${name}": ${JSON.stringify(row)}`);
  return value;
}

/** `14 (in 14 Components)` → 14 */
function countOf(counts: Section, what: string): number {
  const row = counts.rows.find((candidate) => candidate['what'] === what);
  assert.ok(row, `EXPECTED.md Counts has no row "${what}"`);
  return Number.parseInt(column(row, 'count'), 10);
}

// ---- running the corpus ------------------------------------------------------------------------

interface CorpusDocument {
  readonly file: string;
  readonly object: KubeObject;
  readonly violations: readonly Violation[];
}

/** The test support knows the usual kinds; the corpus also has Ingress, Middleware and ScaledObject. */
function corpusRequest(object: KubeObject): AdmissionRequest {
  try {
    return admissionRequest(object);
  } catch {
    const [group, version] = (object.apiVersion ?? 'v1').includes('/')
      ? (object.apiVersion ?? '').split('/')
      : ['', object.apiVersion];
    const kind = { group: group ?? '', version: version ?? 'v1', kind: object.kind ?? '' };
    const request = admissionRequest({ ...object, kind: 'ConfigMap' });
    return { ...request, kind, requestKind: kind };
  }
}

function runCorpus(): CorpusDocument[] {
  const rules = configuredRules(buildConfig([], RULE_IDS));
  const policy = testPolicy(rules);
  return fixtureFiles(CORPUS, '.yaml').flatMap((path) => {
    const file = path.slice(CORPUS.length);
    return yamlObjects(path).map((object) => ({
      file,
      object,
      violations: evaluate(corpusRequest(object), policy, 'validate').violations,
    }));
  });
}

// ---- attributing findings ----------------------------------------------------------------------

/** file, object name, field: where one finding is about. */
function keyOf(file: string, name: string, field: string): string {
  return `${file} | ${name} | ${field}`;
}

const COMPONENT_FINDING =
  /^Component "(?<name>[^"]*)": spec\.metadata (?<field>.+?) (?:is a plaintext secret|is empty|has credentials in a URL|has credentials in a connection string) — /;
const CONFIGURATION_FINDING = /^Configuration "(?<name>[^"]*)": (?<path>\S+) /;

/** The key of a component-plaintext-secrets finding, read back from its message. */
function secretFindingKey(document: CorpusDocument, violation: Violation): string {
  const match = COMPONENT_FINDING.exec(violation.message) ?? CONFIGURATION_FINDING.exec(violation.message);
  assert.ok(match?.groups, `unattributable finding in ${document.file}: ${violation.message}`);
  return keyOf(document.file, match.groups['name'] ?? '', match.groups['field'] ?? match.groups['path'] ?? '');
}

interface Expectation {
  count: number;
  readonly mode: 'enforce' | 'warn';
  readonly source: string;
}

/** An empty (or null) value leaks nothing: the rule caps those findings at warn. */
const EMPTY_VALUE_CLASSES = new Set(['empty-string', 'null']);

function expectRow(
  expected: Map<string, Expectation>,
  perTable: Map<string, number>,
  key: string,
  mode: Expectation['mode'],
  source: string,
): void {
  const count = (perTable.get(key) ?? 0) + 1;
  perTable.set(key, count);
  const existing = expected.get(key);
  // The same metadata entry can be listed in several tables (declared-sensitive and URL with credentials): one finding.
  if (existing === undefined) expected.set(key, { count, mode, source });
  else existing.count = Math.max(existing.count, count);
}

function modeFor(row: Row): Expectation['mode'] {
  return EMPTY_VALUE_CLASSES.has(row['value class'] ?? '') ? 'warn' : 'enforce';
}

/**
 * Where the rule intentionally differs from the EXPECTED.md tables. `extra`: findings that no table
 * lists; `omitted`: rows of table 4 (heuristic H2 matches) that the rule does not flag.
 */
const EXTRA_FINDINGS: ReadonlyArray<{
  readonly key: string;
  readonly mode: Expectation['mode'];
  readonly reason: string;
}> = [
  {
    key: keyOf('dapr_quickstarts__bindings__components__binding-postgres.yaml', 'sqldb', 'url'),
    mode: 'enforce',
    reason:
      '`url` is an accepted alias of the declared-sensitive connectionString (sensitive-fields-detail.json _sensitiveFieldAliases); the value has password=…',
  },
  {
    key: keyOf(
      'dapr_docs__daprdocs__content__en__reference__components-reference__supported-bindings__alicloud-dingtalk.md__block01.yaml',
      '<NAME>',
      'url',
    ),
    mode: 'enforce',
    reason: 'the webhook URL carries an access_token query parameter (table 5 lists only user:password@ URLs)',
  },
  ...[
    'dapr_docs__daprdocs__content__en__reference__components-reference__supported-pubsub__setup-jetstream.md__block01.yaml | jetstream-pubsub',
    'dapr_docs__daprdocs__content__en__reference__components-reference__supported-state-stores__setup-jetstream-kv.md__block01.yaml | <NAME>',
  ].map((component) => ({
    key: `${component} | jwt`,
    mode: 'enforce' as const,
    reason:
      'H2 term `jwt` (a NATS user JWT): table 4 lists H1 matches only; heuristic-eval.md counts `jwt` ×2 for H2 on the corpus',
  })),
  {
    key: keyOf(
      'dapr_docs__daprdocs__content__en__operations__observability__tracing__newrelic.md__block01.yaml',
      'appconfig',
      'spec.tracing.zipkin.endpointAddress',
    ),
    mode: 'enforce',
    reason:
      'a Configuration: the zipkin endpoint URL carries an Api-Key query parameter (EXPECTED.md covers Components only)',
  },
];

const OMITTED_H2_MATCHES: ReadonlyArray<{ readonly field: string; readonly type: string; readonly reason: string }> = [
  {
    field: 'accessKeyID',
    type: 'bindings.alicloud.tablestore',
    reason: 'names an access key (…id), not declared sensitive for this type',
  },
  {
    field: 'accessKeyId',
    type: 'secretstores.alicloud.parameterstore',
    reason: 'names an access key (…id), not declared sensitive for this type',
  },
  { field: 'key-id', type: 'bindings.apns', reason: 'names a key (…id), not declared sensitive' },
  {
    field: 'private_key_id',
    type: 'state.gcp.firestore',
    reason: 'names a key (…id), not declared sensitive for this type',
  },
  {
    field: 'connectionString',
    type: 'state.sqlite',
    reason: 'the SQLite connection string is a file name (heuristic-eval label N)',
  },
];

function expectedSecretFindings(sections: ReadonlyMap<string, Section>): Map<string, Expectation> {
  const expected = new Map<string, Expectation>();
  const add = (
    rows: readonly Row[],
    source: string,
    fieldColumn: string,
    mode: (row: Row) => Expectation['mode'],
  ): void => {
    const perTable = new Map<string, number>();
    for (const row of rows) {
      const key = keyOf(column(row, 'file'), column(row, 'component'), column(row, fieldColumn));
      expectRow(expected, perTable, key, mode(row), source);
    }
  };
  add(section(sections, '1').rows, 'table 1 (declared sensitive)', 'field', modeFor);
  add(section(sections, '2').rows, 'table 2 (case-insensitive match)', 'field as written', modeFor);
  add(
    heuristicRows(sections).filter((row) => row['H2'] === 'yes' && !isOmitted(row)),
    'table 4 (H2 match)',
    'field',
    modeFor,
  );
  add(section(sections, '5').rows, 'table 5 (URL with user:password)', 'field', () => 'enforce');
  for (const extra of EXTRA_FINDINGS)
    expected.set(extra.key, { count: 1, mode: extra.mode, source: `exception: ${extra.reason}` });
  return expected;
}

function heuristicRows(sections: ReadonlyMap<string, Section>): readonly Row[] {
  return section(sections, '4').rows;
}

function isOmitted(row: Row): boolean {
  return OMITTED_H2_MATCHES.some((omitted) => omitted.field === row['field'] && omitted.type === row['spec.type']);
}

function countKeys(keys: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

/** The plaintext values of `field` in the Component or header lists of `object`, as text. */
function valuesOf(object: KubeObject, field: string): string[] {
  const spec = object['spec'] as Record<string, unknown> | undefined;
  const items = Array.isArray(spec?.['metadata']) ? (spec['metadata'] as unknown[]) : [];
  return items
    .filter(
      (item): item is Record<string, unknown> =>
        typeof item === 'object' && item !== null && (item as Record<string, unknown>)['name'] === field,
    )
    .map((item) => item['value'])
    .filter(
      (value): value is string | number | boolean =>
        ['string', 'number', 'boolean'].includes(typeof value) && value !== '',
    )
    .map(String);
}

// ---- the tests ---------------------------------------------------------------------------------

describe('dapr corpus vs EXPECTED.md', () => {
  const sections = parseExpected(fixtureText(`${CORPUS}EXPECTED.md`));
  const documents = runCorpus();
  const findingsOf = (ruleId: string): Array<{ document: CorpusDocument; violation: Violation }> =>
    documents.flatMap((document) =>
      document.violations
        .filter((violation) => violation.ruleId === ruleId)
        .map((violation) => ({ document, violation })),
    );

  it('parses the EXPECTED.md tables completely (row counts agree with its own counts)', () => {
    const counts = section(sections, 'counts');
    assert.equal(
      section(sections, '1').rows.length,
      countOf(counts, 'Plaintext declared-sensitive field entries (exact name)'),
    );
    assert.equal(
      section(sections, '2').rows.length,
      countOf(counts, 'Plaintext entries matching only case-insensitively'),
    );
    assert.equal(
      section(sections, '3').rows.length,
      countOf(counts, 'Declared-sensitive entries given via `secretKeyRef` (any case)'),
    );
    assert.equal(heuristicRows(sections).length, Number(/Rows: (\d+)/.exec(section(sections, '4').text)?.[1]));
    assert.equal(section(sections, '7').rows.length, Number(/total (\d+)/.exec(section(sections, '7').text)?.[1]));
    assert.equal(
      documents.filter((document) => document.object.kind === 'Component').length,
      countOf(counts, 'Component documents in the corpus'),
    );
    const indexedFiles = fixtureText(`${CORPUS}INDEX.tsv`).trim().split('\n').length - 1;
    assert.equal(fixtureFiles(CORPUS, '.yaml').length, indexedFiles);
  });

  describe(COMPONENT_PLAINTEXT_SECRETS_RULE_ID, () => {
    const findings = findingsOf(COMPONENT_PLAINTEXT_SECRETS_RULE_ID);
    const actual = countKeys(findings.map(({ document, violation }) => secretFindingKey(document, violation)));
    const expected = expectedSecretFindings(sections);

    it('finds every plaintext value of tables 1, 2, 4 (H2 matches) and 5, as often as listed', () => {
      const missing = [...expected]
        .filter(([key, expectation]) => (actual.get(key) ?? 0) !== expectation.count)
        .map(
          ([key, expectation]) =>
            `${key}: expected ${expectation.count} (${expectation.source}), found ${actual.get(key) ?? 0}`,
        );
      assert.deepEqual(missing, []);
    });

    it('finds nothing that no table (or listed exception) expects', () => {
      assert.deepEqual(
        [...actual.keys()].filter((key) => !expected.has(key)),
        [],
      );
    });

    it('enforces non-empty values and caps empty ones at warn', () => {
      const wrongMode = findings
        .map(({ document, violation }) => ({ key: secretFindingKey(document, violation), mode: violation.mode }))
        .filter(({ key, mode }) => expected.get(key)?.mode !== mode)
        .map(({ key, mode }) => `${key}: ${mode}, expected ${expected.get(key)?.mode}`);
      assert.deepEqual(wrongMode, []);
    });

    it('finds nothing for the secretKeyRef entries of table 3', () => {
      const rows = section(sections, '3').rows;
      const flagged = rows
        .map((row) => keyOf(column(row, 'file'), column(row, 'component'), column(row, 'field')))
        .filter((key) => actual.has(key));
      assert.deepEqual(flagged, []);
    });

    it('finds nothing for the H2 non-matches of table 4 (paths, URLs, key names)', () => {
      const rows = heuristicRows(sections).filter((row) => row['H2'] === 'no');
      assert.ok(rows.length > 0);
      const flagged = rows
        .map((row) => keyOf(column(row, 'file'), column(row, 'component'), column(row, 'field')))
        .filter((key) => actual.has(key));
      assert.deepEqual(flagged, []);
    });

    it('lists only exceptions that still apply', () => {
      for (const omitted of OMITTED_H2_MATCHES) {
        assert.ok(
          heuristicRows(sections).some(
            (row) => row['field'] === omitted.field && row['spec.type'] === omitted.type && row['H2'] === 'yes',
          ),
          `${omitted.field} (${omitted.type}) is no longer an H2 match of table 4`,
        );
      }
      for (const extra of EXTRA_FINDINGS) assert.equal(actual.get(extra.key), 1, extra.key);
    });

    it('never puts the value it is about into a message', () => {
      const leaks = findings.flatMap(({ document, violation }) => {
        const field = COMPONENT_FINDING.exec(violation.message)?.groups?.['field'];
        if (field === undefined) return [];
        // The object and field names are public: a placeholder value such as `password` may equal them.
        const name = document.object.metadata?.name ?? '';
        const withoutNames = violation.message.replaceAll(`"${name}"`, '""').replaceAll(field, '');
        return valuesOf(document.object, field)
          .filter((value) => withoutNames.includes(value))
          .map((value) => `${document.file}: ${field} (${value.length} characters)`);
      });
      assert.deepEqual(leaks, []);
    });
  });

  describe('Configuration rules vs table 7', () => {
    const rows = section(sections, '7').rows;
    const configurationKey = (file: string, name: string): string => `${file} | ${name}`;
    const findingKeys = (ruleId: string): string[] =>
      findingsOf(ruleId).map(({ document }) => configurationKey(document.file, document.object.metadata?.name ?? ''));

    it(`${MTLS_ENABLED_RULE_ID}: a finding exactly for the rows with mtls.enabled false`, () => {
      const expectedKeys = rows
        .filter((row) => row['mtls.enabled'] === 'false')
        .map((row) => configurationKey(column(row, 'file'), column(row, 'name')));
      assert.deepEqual(findingKeys(MTLS_ENABLED_RULE_ID).sort(), expectedKeys.sort());
    });

    it(`${OBSERVABILITY_RULE_ID}: one finding per disabled metrics block and per zero sampling rate`, () => {
      const expectedKeys = rows.flatMap((row) => {
        const key = configurationKey(column(row, 'file'), column(row, 'name'));
        const samplingRate = column(row, 'tracing.samplingRate');
        const samplingOff = samplingRate !== '' && Number(samplingRate) <= 0;
        return [...(column(row, 'metric(s).enabled') === 'false' ? [key] : []), ...(samplingOff ? [key] : [])];
      });
      assert.ok(expectedKeys.length > 0, 'table 7 has a Configuration with metrics disabled');
      assert.deepEqual(findingKeys(OBSERVABILITY_RULE_ID).sort(), expectedKeys.sort());
    });

    it('checks every Configuration of the corpus that table 7 lists', () => {
      const configurations = documents.filter((document) => document.object.kind === 'Configuration');
      const listed = new Set(rows.map((row) => configurationKey(column(row, 'file'), column(row, 'name'))));
      assert.equal(configurations.length, rows.length);
      assert.deepEqual(
        configurations
          .map((document) => configurationKey(document.file, document.object.metadata?.name ?? ''))
          .filter((key) => !listed.has(key)),
        [],
      );
    });
  });
});
