import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Mode } from '../../src/admission/mode.ts';
import { resolveMode } from '../../src/policy/resolve-mode.ts';

// [global, configured rule mode, rule default, namespace label] → effective mode
const table: readonly [Mode, Mode | undefined, Mode, Mode | undefined, Mode][] = [
  ['enforce', undefined, 'enforce', undefined, 'enforce'],
  ['warn', undefined, 'enforce', undefined, 'warn'],
  ['audit', undefined, 'enforce', undefined, 'audit'],
  ['enforce', undefined, 'warn', undefined, 'warn'], // advice-only rules stay advice
  ['audit', undefined, 'warn', undefined, 'audit'],
  ['audit', 'enforce', 'enforce', undefined, 'enforce'], // an explicit rule mode wins over the global one
  ['enforce', 'audit', 'enforce', undefined, 'audit'],
  ['enforce', 'enforce', 'warn', undefined, 'enforce'],
  ['enforce', undefined, 'enforce', 'audit', 'audit'], // an audit namespace in an enforced cluster
  ['enforce', undefined, 'enforce', 'warn', 'warn'],
  ['audit', undefined, 'enforce', 'enforce', 'enforce'], // a namespace that opts in while the cluster is in audit
  ['audit', undefined, 'warn', 'enforce', 'warn'], // never above the rule's own mode
  ['enforce', 'audit', 'enforce', 'enforce', 'audit'],
  ['enforce', 'enforce', 'warn', 'audit', 'audit'],
];

for (const [globalMode, configuredRuleMode, ruleDefaultMode, namespaceMode, expected] of table) {
  test(`global ${globalMode}, rule ${configuredRuleMode ?? '(default ' + ruleDefaultMode + ')'}, namespace ${namespaceMode ?? '(unlabelled)'} → ${expected}`, () => {
    assert.equal(resolveMode({ globalMode, configuredRuleMode, ruleDefaultMode, namespaceMode }), expected);
  });
}
