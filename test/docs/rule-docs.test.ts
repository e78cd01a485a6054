/**
 * docs/rules: a page per rule in the registry, with the sections users look for, and examples that
 * behave as the page says when reviewed through the rule core (evaluate, as the rule tests do).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { KubeObject } from '../../src/admission/wire.ts';
import { buildConfig } from '../../src/config/config.ts';
import { formatMessage } from '../../src/policy/decide.ts';
import type { Endpoint } from '../../src/admission/endpoint.ts';
import { evaluate } from '../../src/policy/evaluate.ts';
import type { Evaluation } from '../../src/policy/evaluation.ts';
import { EXEMPT_ANNOTATION, EXEMPT_REASON_ANNOTATION } from '../../src/policy/exemptions.ts';
import { configuredRules } from '../../src/config/policy.ts';
import { RULE_IDS } from '../../src/rules/index.ts';
import type { Rule } from '../../src/rules/rule.ts';
import { testPolicy } from '../support/policy.ts';
import { admissionRequest } from '../support/requests.ts';

const DOCS = new URL('../../docs/rules/', import.meta.url);

const HEADINGS = [
  '## What it checks',
  '## Guideline',
  '## Failing example',
  '## Passing example',
  '## How to fix',
  '## Default mode',
  '## Exempting an object',
] as const;

type Heading = (typeof HEADINGS)[number];

const pageText = (ruleId: string): string => readFileSync(new URL(`${ruleId}.md`, DOCS), 'utf8');

/** The text of one `## ` section, up to the next one. */
function section(page: string, heading: Heading): string {
  const start = page.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `section ${heading}`);
  const body = page.slice(start + heading.length + 2);
  const next = body.search(/^## /m);
  return next < 0 ? body : body.slice(0, next);
}

/** The code fences of one language in a piece of Markdown, in order. */
function fences(markdown: string, language: string): string[] {
  return [...markdown.matchAll(new RegExp('^```' + language + '\\n([\\s\\S]*?)^```$', 'gm'))].map(
    (match) => match[1] ?? '',
  );
}

function onlyFence(markdown: string, language: string, where: string): string {
  const found = fences(markdown, language);
  assert.equal(found.length, 1, `one ${language} block in ${where}`);
  return found[0] ?? '';
}

function yamlObject(text: string): KubeObject {
  const value = parseYaml(text) as unknown;
  assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), 'a YAML object');
  return value as KubeObject;
}

const rules: readonly Rule[] = configuredRules(buildConfig([{}], RULE_IDS));

/**
 * An example: one YAML block is the object of a CREATE; two are an UPDATE, the first block the stored
 * object and the second the new one (for rules about updates, such as trust-bundle-preserved).
 */
interface Example {
  readonly object: KubeObject;
  readonly oldObject?: KubeObject;
}

function example(markdown: string, where: string): Example {
  const blocks = fences(markdown, 'yaml');
  assert.ok(blocks.length === 1 || blocks.length === 2, `one or two yaml blocks in ${where}`);
  const [first = '', second] = blocks;
  return second === undefined
    ? { object: yamlObject(first) }
    : { object: yamlObject(second), oldObject: yamlObject(first) };
}

function review(rule: Rule, { object, oldObject }: Example): Evaluation {
  const phase: Endpoint = rule.type === 'mutating' ? 'mutate' : 'validate';
  const request =
    oldObject === undefined ? admissionRequest(object) : admissionRequest(object, { operation: 'UPDATE', oldObject });
  // Every rule of the type, as the server runs them, so that a page's example shows only its own rule's findings.
  return evaluate(request, testPolicy(rules.filter((candidate) => candidate.type === rule.type)), phase);
}

/** What the user sees for this rule: the messages (validating) or the annotations added (mutating). */
function seen(rule: Rule, evaluation: Evaluation): string[] {
  if (rule.type === 'mutating')
    return evaluation.mutations
      .filter((mutation) => mutation.ruleId === rule.id)
      .flatMap((mutation) => [...mutation.changes]);
  return evaluation.violations.filter((violation) => violation.ruleId === rule.id).map(formatMessage);
}

function withExemption(object: KubeObject, exemption: KubeObject): KubeObject {
  const annotations = { ...object.metadata?.annotations, ...exemption.metadata?.annotations };
  return { ...object, metadata: { ...object.metadata, annotations } };
}

describe('docs/rules', () => {
  it('the registry has the ten rules, one page each and no page for a rule that does not exist', () => {
    assert.equal(RULE_IDS.length, 10);
    assert.equal(rules.length, RULE_IDS.length);
    const pages = readdirSync(DOCS)
      .filter((name) => name.endsWith('.md') && name !== 'README.md')
      .map((name) => name.slice(0, -3));
    assert.deepEqual([...pages].sort(), [...RULE_IDS].sort());
  });

  it('the index links every page and gives each rule its default mode', () => {
    const index = readFileSync(new URL('README.md', DOCS), 'utf8');
    const rows = [...index.matchAll(/^\| \[`([^`]+)`\]\(([^)]+)\) \| (\w+) \| `(\w+)` \|/gm)];
    assert.equal(rows.length, rules.length);
    for (const rule of rules) {
      const row = rows.find((match) => match[1] === rule.id);
      assert.ok(row !== undefined, `index row for ${rule.id}`);
      assert.equal(row[2], `${rule.id}.md`);
      assert.ok(existsSync(new URL(row[2] ?? '', DOCS)));
      assert.equal(row[3], rule.type);
      assert.equal(row[4], rule.defaultMode);
    }
  });

  for (const rule of rules) {
    describe(rule.id, () => {
      const page = pageText(rule.id);

      it('has the title and every section, in order', () => {
        assert.ok(page.startsWith(`# ${rule.id}\n`));
        const positions = HEADINGS.map((heading) => page.indexOf(`\n${heading}\n`));
        assert.equal(positions.length, 7);
        for (const [index, position] of positions.entries()) assert.ok(position > 0, `${HEADINGS[index]} is there`);
        assert.deepEqual(
          [...positions].sort((a, b) => a - b),
          positions,
          'sections in order',
        );
      });

      it('quotes the production guidelines and links the page', () => {
        const guideline = section(page, '## Guideline');
        assert.match(guideline, /^> \S/m);
        assert.ok(guideline.includes('https://docs.dapr.io/operations/hosting/kubernetes/kubernetes-production/'));
      });

      it('states the default mode the rule has', () => {
        assert.ok(page.includes(`| default mode | \`${rule.defaultMode}\` |`));
        assert.ok(section(page, '## Default mode').trimStart().startsWith(`\`${rule.defaultMode}\`:`));
      });

      it('the failing example gives exactly the messages the page shows', () => {
        const failing = section(page, '## Failing example');
        const shown = onlyFence(failing, 'text', 'Failing example').trimEnd().split('\n');
        assert.ok(shown.length > 0 && shown.every((line) => line.trim() !== ''));
        const actual = seen(rule, review(rule, example(failing, 'Failing example')));
        assert.ok(actual.length > 0, 'the failing example fails');
        assert.deepEqual(actual, shown);
      });

      it('the passing example passes', () => {
        const evaluation = review(rule, example(section(page, '## Passing example'), 'Passing example'));
        assert.deepEqual(seen(rule, evaluation), []);
        // A passing example is clean for every rule of its kind, not only this one.
        assert.deepEqual(rule.type === 'mutating' ? evaluation.mutations : evaluation.violations, []);
      });

      it('the exemption shown exempts the failing example, with its reason', () => {
        const exempt = section(page, '## Exempting an object');
        const exemption = yamlObject(onlyFence(exempt, 'yaml', 'Exempting an object'));
        assert.equal(exemption.metadata?.annotations?.[EXEMPT_ANNOTATION], rule.id);
        const reason = exemption.metadata?.annotations?.[EXEMPT_REASON_ANNOTATION] ?? '';
        assert.notEqual(reason.trim(), '');
        const failing = example(section(page, '## Failing example'), 'Failing example');
        const evaluation = review(rule, { ...failing, object: withExemption(failing.object, exemption) });
        assert.deepEqual(seen(rule, evaluation), []);
        assert.deepEqual(
          evaluation.exemptions.map((used) => used.ruleId),
          [rule.id],
        );
        assert.ok(exempt.includes('`exemptions.allowedGroups` (default `system:masters`)'));
      });
    });
  }
});
