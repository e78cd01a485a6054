import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Finding } from '../../../src/rules/rule.ts';
import { capFindings, MAX_LISTED_FINDINGS } from '../../../src/rules/support/findings.ts';

const more = (count: number): string => `and ${count} more`;

function findings(count: number, maxMode?: Finding['maxMode']): Finding[] {
  return Array.from({ length: count }, (_, index) =>
    maxMode === undefined ? { message: `f${index}` } : { message: `f${index}`, maxMode },
  );
}

describe('capFindings', () => {
  it('lists 20', () => assert.equal(MAX_LISTED_FINDINGS, 20));

  it('keeps up to 20 findings as they are', () => {
    assert.deepEqual(capFindings(findings(20), more), findings(20));
    assert.deepEqual(capFindings([], more), []);
  });

  it('lists the first 20 and counts the rest in one finding', () => {
    const capped = capFindings(findings(25), more);
    assert.equal(capped.length, 21);
    assert.deepEqual(capped.slice(0, 20), findings(20));
    assert.deepEqual(capped[20], { message: 'and 5 more' });
  });

  describe('the counting finding is as strict as the strictest one it stands for', () => {
    const cases: ReadonlyArray<readonly [string, Finding[], Finding]> = [
      ['advice only', [...findings(20), ...findings(3, 'warn')], { message: 'and 3 more', maxMode: 'warn' }],
      [
        'advice and audit',
        [...findings(20), ...findings(1, 'audit'), ...findings(1, 'warn')],
        { message: 'and 2 more', maxMode: 'warn' },
      ],
      [
        'a refusal after advice',
        [...findings(20, 'warn'), ...findings(2, 'warn'), ...findings(1)],
        { message: 'and 3 more' },
      ],
    ];
    for (const [name, input, expected] of cases) {
      it(name, () => assert.deepEqual(capFindings(input, more)[20], expected));
    }
  });
});
