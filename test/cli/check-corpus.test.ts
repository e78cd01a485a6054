/**
 * The 298-file corpus through `dapr-guard check` agrees with the corpus test (test/rules/corpus.test.ts),
 * which holds the rules' findings against the facts of its EXPECTED.md: for the rules that test
 * asserts, check reports exactly what the rules find on each object, file by file.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kindResourceOf } from '../../src/admission/kinds.ts';
import { buildConfig } from '../../src/config/config.ts';
import { configuredRules } from '../../src/config/policy.ts';
import { evaluate } from '../../src/policy/evaluate.ts';
import { COMPONENT_PLAINTEXT_SECRETS_RULE_ID } from '../../src/rules/component-plaintext-secrets.ts';
import { RULE_IDS } from '../../src/rules/index.ts';
import { MTLS_ENABLED_RULE_ID } from '../../src/rules/mtls-enabled.ts';
import { OBSERVABILITY_RULE_ID } from '../../src/rules/observability.ts';
import { fixtureFiles, fixtureText, yamlObjects } from '../support/fixtures.ts';
import { testPolicy } from '../support/policy.ts';
import { admissionRequest } from '../support/requests.ts';
import { check } from './support.ts';

const CORPUS = 'test/fixtures/dapr-corpus';
const ASSERTED_RULES = new Set([COMPONENT_PLAINTEXT_SECRETS_RULE_ID, MTLS_ENABLED_RULE_ID, OBSERVABILITY_RULE_ID]);

interface JsonFinding {
  readonly file: string;
  readonly type: string;
  readonly ruleId: string;
  readonly mode: string;
  readonly message: string;
}

/** file → sorted `rule (mode) message` lines of the asserted rules, straight from evaluate(). */
function expectedByFile(): Map<string, string[]> {
  const policy = testPolicy(configuredRules(buildConfig([], RULE_IDS)));
  const expected = new Map<string, string[]>();
  for (const path of fixtureFiles('dapr-corpus/', '.yaml')) {
    const lines = yamlObjects(path)
      .filter((object) => kindResourceOf(object.kind ?? '') !== undefined)
      .flatMap((object) => evaluate(admissionRequest(object), policy, 'validate').violations)
      .filter((violation) => ASSERTED_RULES.has(violation.ruleId))
      .map((violation) => `${violation.ruleId} (${violation.mode}) ${violation.message}`);
    if (lines.length > 0) expected.set(`${CORPUS}/${path.slice('dapr-corpus/'.length)}`, lines.sort());
  }
  return expected;
}

describe('dapr-guard check on the corpus', () => {
  test('reads every file and Component, and finds what the rules find', async () => {
    const { code, stdout } = await check(['-o', 'json', CORPUS]);
    assert.equal(code, 1);
    const report = JSON.parse(stdout) as {
      summary: { sources: number; objects: number; problems: number };
      findings: JsonFinding[];
    };
    assert.equal(report.summary.sources, 298);
    assert.equal(report.summary.problems, 0);
    const actual = new Map<string, string[]>();
    for (const finding of report.findings) {
      if (finding.type !== 'violation' || !ASSERTED_RULES.has(finding.ruleId)) continue;
      actual.set(finding.file, [
        ...(actual.get(finding.file) ?? []),
        `${finding.ruleId} (${finding.mode}) ${finding.message}`,
      ]);
    }
    for (const lines of actual.values()) lines.sort();
    const expected = expectedByFile();
    assert.ok(expected.size > 90, `${expected.size} files with findings`);
    assert.deepEqual(actual, expected);
  });

  test('every Component document of the corpus is reviewed', async () => {
    const { stdout } = await check(['-o', 'junit', CORPUS]);
    const expected = Number(
      /^\| Component documents in the corpus \| (\d+) \|$/m.exec(fixtureText('dapr-corpus/EXPECTED.md'))?.[1],
    );
    assert.equal(expected, 191);
    // One test case per object and rule: count the objects through one rule's cases.
    const cases = stdout.match(/<testcase [^>]*name="Component [^"]* \[component-plaintext-secrets\]"/g) ?? [];
    assert.equal(cases.length, expected);
  });
});
