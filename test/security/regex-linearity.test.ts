import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAdmissionReview } from '../../src/admission/parse-review.ts';
import type { KubeObject } from '../../src/admission/wire.ts';
import { evaluate } from '../../src/policy/evaluate.ts';
import { readExemptions } from '../../src/policy/exemptions.ts';
import { componentPlaintextSecretsRule } from '../../src/rules/component-plaintext-secrets.ts';
import { observabilityRule } from '../../src/rules/observability.ts';
import { embeddedCredential, isCredentialName } from '../../src/rules/support/credentials.ts';
import { testPolicy } from '../support/policy.ts';
import { admissionRequest } from '../support/requests.ts';
import { flat, LINEAR_BOUND_MS, MIB, timed } from '../support/timing.ts';

/**
 * Every regular expression (and split/trim scan) that runs on text from a review, fed the shape that
 * would make it backtrack, answered in well under 50 ms. The quantity grammar, the message escaper and
 * the field-name shapes have theirs next to their own tests.
 *
 * Sizes: a MiB where the text is one or a few tokens. Where it splits into one token every few
 * characters, 16 KiB: a linear scan still spends about a microsecond per token (a MiB of `a=b;` is
 * ~250 ms), while a quadratic one needs about a second at 16 KiB already (16k² steps).
 */
const DENSE = 16 * 1024;

interface Probe<T> {
  readonly name: string;
  readonly input: string;
  readonly run: (input: string) => T;
  readonly expected: T;
}

function probes<T>(title: string, cases: readonly Probe<T>[], count: number): void {
  describe(title, () => {
    it(`has ${count} probes`, () => assert.equal(cases.length, count));
    for (const { name, input, run, expected } of cases) {
      it(name, () => {
        const text = flat(input);
        const { result, ms } = timed(() => run(text));
        assert.deepEqual(result, expected);
        assert.ok(ms < LINEAR_BOUND_MS, `${ms.toFixed(1)} ms`);
      });
    }
  });
}

const letters = 'a'.repeat(MIB);
const digits = '9'.repeat(MIB);

// credentials.ts: text.split(/\s+/), text.split(/[;\s]+/), query.split(/[&#]/), PAIR_KEY /^[a-z][\w.-]*$/i,
// and the '://' / userinfo scans (plain loops).
probes<string | undefined>(
  'embedded credentials (src/rules/support/credentials.ts)',
  [
    {
      name: '16 KiB of whitespace, then a word',
      input: `${' \t\n'.repeat(DENSE / 3)}x`,
      run: embeddedCredential,
      expected: undefined,
    },
    {
      name: '16 KiB of separators ; and space',
      input: '; '.repeat(DENSE / 2),
      run: embeddedCredential,
      expected: undefined,
    },
    {
      name: 'a pair key of a MiB of word characters that fails at its end',
      input: `${letters}!password=x`,
      run: embeddedCredential,
      expected: undefined,
    },
    {
      name: 'a MiB-long password pair key (no driver has one)',
      input: `password${letters}=x`,
      run: embeddedCredential,
      expected: undefined,
    },
    { name: '16 KiB of pairs', input: 'a=b;'.repeat(DENSE / 4), run: embeddedCredential, expected: undefined },
    {
      name: '16 KiB of scheme separators',
      input: 'a://'.repeat(DENSE / 4),
      run: embeddedCredential,
      expected: undefined,
    },
    {
      name: 'one authority of a MiB of colons with no @',
      input: `a://${':'.repeat(MIB)}`,
      run: embeddedCredential,
      expected: undefined,
    },
    { name: 'a MiB of @ after user:', input: `a://u:${'@'.repeat(MIB)}`, run: embeddedCredential, expected: 'url' },
    {
      name: 'a query of 16 KiB of & and #',
      input: `a://h/?${'&#'.repeat(DENSE / 2)}`,
      run: embeddedCredential,
      expected: undefined,
    },
    {
      name: 'a MiB of % escapes in a pair key',
      input: `${'%'.repeat(MIB)}=x`,
      run: embeddedCredential,
      expected: undefined,
    },
    {
      name: 'a credential after a MiB of text',
      input: `${letters} password=x`,
      run: embeddedCredential,
      expected: 'connection-string',
    },
  ],
  11,
);

probes<boolean>(
  'credential names (src/rules/support/credentials.ts)',
  [
    { name: 'a MiB of letters', input: letters, run: isCredentialName, expected: false },
    {
      name: 'a MiB of letters around a term',
      input: `${letters}password${letters}`,
      run: isCredentialName,
      expected: true,
    },
    {
      name: 'a MiB of whitespace around a header: prefix',
      input: `${' '.repeat(MIB)}header:${letters}`,
      run: isCredentialName,
      expected: false,
    },
  ],
  3,
);

function component(metadata: unknown): KubeObject {
  return {
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'store', namespace: 'shop' },
    spec: { type: 'state.redis', version: 'v1', metadata },
  };
}

function plaintextFindings(object: KubeObject): number {
  return evaluate(admissionRequest(object), testPolicy([componentPlaintextSecretsRule()]), 'validate').violations
    .length;
}

// The whole rule: names and values of a MiB each (the Secret key suggestion, `[^-._a-zA-Z0-9]`, only runs
// on names of at most 64 characters).
probes<number>(
  'component-plaintext-secrets on megabyte names and values',
  [
    {
      name: 'a MiB name of a credential term',
      input: `password${letters}`,
      run: (text) => plaintextFindings(component([{ name: text, value: 'x' }])),
      expected: 1,
    },
    {
      name: 'a 16 KiB name of separators',
      input: '; '.repeat(DENSE / 2),
      run: (text) => plaintextFindings(component([{ name: text, value: 'x' }])),
      expected: 0,
    },
    {
      name: 'a MiB value of URL-like text',
      input: `a://${':'.repeat(MIB)}`,
      run: (text) => plaintextFindings(component([{ name: 'redisHost', value: text }])),
      expected: 0,
    },
  ],
  3,
);

function samplingFindings(samplingRate: string): number {
  const object: KubeObject = {
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Configuration',
    metadata: { name: 'c', namespace: 'shop' },
    spec: { tracing: { samplingRate } },
  };
  return evaluate(admissionRequest(object), testPolicy([observabilityRule()]), 'validate').violations.length;
}

// observability.ts: DECIMAL /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/, the shape of the old quantity ReDoS.
probes<number>(
  'the sampling-rate decimal (src/rules/observability.ts)',
  [
    { name: 'a MiB of digits then x', input: `${digits}x`, run: samplingFindings, expected: 0 },
    { name: 'digits, a point, digits, then x', input: `${digits}.${digits}x`, run: samplingFindings, expected: 0 },
    { name: 'an exponent of a MiB of digits then x', input: `1e${digits}x`, run: samplingFindings, expected: 0 },
    { name: 'a MiB of zeros (a valid zero rate)', input: '0'.repeat(MIB), run: samplingFindings, expected: 1 },
  ],
  4,
);

const EXEMPTIONS_ON = { enabled: true, allowedGroups: ['system:masters'], namespaces: [] };

/** An exemption set by a cluster operator, so that it counts. */
function exemptedBy(
  annotations: Record<string, string>,
  knownRuleIds: readonly string[],
): ReturnType<typeof readExemptions> {
  const object: KubeObject = { metadata: { name: 'p', namespace: 'team-a', annotations } };
  const request = { ...admissionRequest(object), userInfo: { username: 'admin', groups: ['system:masters'] } };
  return readExemptions(request, new Set(knownRuleIds), EXEMPTIONS_ON, 'team-a');
}

function exemptedCount(listed: string): number {
  const annotations = { 'dapr-guard.io/exempt': listed, 'dapr-guard.io/exempt-reason': `${' '.repeat(MIB)}legacy` };
  return exemptedBy(annotations, ['mtls-enabled']).exemptedRuleIds.size;
}

// exemptions.ts: listed.split(','), trim() of each id and of the reason.
probes<number>(
  'exemption annotations (src/policy/exemptions.ts)',
  [
    { name: 'one id of a MiB', input: letters, run: exemptedCount, expected: 0 },
    {
      name: 'a MiB of whitespace around a known id',
      input: `${' '.repeat(MIB)}mtls-enabled${' '.repeat(MIB)}`,
      run: exemptedCount,
      expected: 1,
    },
  ],
  2,
);

describe('exemption annotations with many ids (src/policy/exemptions.ts)', () => {
  // Linear, but one notice per unknown id used to give 'x,' × 512k (a MiB) 524 288 warnings in ~1.2 s.
  it('many unknown ids answer 20 notices and one for the rest', () => {
    const listed = flat(Array.from({ length: DENSE / 4 }, (_, index) => `x${index}`).join(','));
    const { result, ms } = timed(
      () => exemptedBy({ 'dapr-guard.io/exempt': listed, 'dapr-guard.io/exempt-reason': 'r' }, []).notices,
    );
    assert.equal(result.length, 21);
    assert.equal(result[0], '[exemptions] dapr-guard.io/exempt names unknown rule "x0"; it has no effect');
    assert.match(
      result[20] ?? '',
      /^\[exemptions\] dapr-guard\.io\/exempt names \d+ more unknown rules — list only rule ids from dapr-guard --help$/,
    );
    assert.ok(ms < LINEAR_BOUND_MS, `${ms.toFixed(1)} ms`);
  });
});

// parse-review.ts: contentType.split(';', 1) and trim().
const EMPTY_OBJECT = new TextEncoder().encode('{}');
probes<boolean>(
  'the Content-Type check (src/admission/parse-review.ts)',
  [
    {
      name: 'a MiB of whitespace before application/json',
      input: `${' '.repeat(MIB)}application/json`,
      run: (text) => parseAdmissionReview({ contentType: text, body: EMPTY_OBJECT }).ok,
      expected: false,
    },
    {
      name: 'a MiB of semicolons',
      input: ';'.repeat(MIB),
      run: (text) => parseAdmissionReview({ contentType: text, body: EMPTY_OBJECT }).ok,
      expected: false,
    },
  ],
  2,
);
