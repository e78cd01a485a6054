/** helm lint, values.schema.json, and the chart's documentation staying true to values.yaml. */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { CHART_DIR, helmLint, helmTemplate, helmTemplateResult } from '../support/helm.ts';
import { mergeValues, TLS_CHOICE_NAMES, TLS_CHOICES } from './objects.ts';

const chartFile = (name: string): string => readFileSync(join(CHART_DIR, name), 'utf8');

/**
 * NOTES.txt as helm install prints it: helm template does not render NOTES, so a temporary copy of the
 * chart defines it as a template and renders it into a ConfigMap.
 */
function renderNotes(values: Record<string, unknown>, kubeVersion?: string): string {
  const chart = mkdtempSync(join(tmpdir(), 'dapr-guard-notes-'));
  try {
    cpSync(CHART_DIR, chart, { recursive: true });
    const notes = readFileSync(join(chart, 'templates', 'NOTES.txt'), 'utf8');
    rmSync(join(chart, 'templates', 'NOTES.txt'));
    writeFileSync(join(chart, 'templates', '_notes.tpl'), `{{- define "test.notes" -}}\n${notes}{{- end -}}\n`);
    writeFileSync(
      join(chart, 'templates', 'notes.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include "test.notes" . | quote }}\n',
    );
    const objects = helmTemplate({ chart, values, ...(kubeVersion === undefined ? {} : { kubeVersion }) });
    const configMap = objects.find((object) => object.kind === 'ConfigMap' && object.metadata?.name === 'notes');
    return String((configMap?.['data'] as Record<string, string> | undefined)?.['notes']);
  } finally {
    rmSync(chart, { recursive: true, force: true });
  }
}

/** Lint output lines that are not informational ([INFO] icon recommendation is fine). */
function problems(output: string): string[] {
  return output.split('\n').filter((line) => /\[(?:WARNING|ERROR)\]/.test(line));
}

describe('helm lint', () => {
  const cases: readonly [string, Record<string, unknown>, string | undefined][] = [
    ['defaults', {}, undefined],
    ...TLS_CHOICE_NAMES.map((choice): [string, Record<string, unknown>, undefined] => [
      `tls.mode ${choice}`,
      TLS_CHOICES[choice],
      undefined,
    ]),
    [
      'HA, audit mode, every optional object',
      mergeValues({
        ha: { enabled: true },
        mode: 'audit',
        metrics: { serviceMonitor: { enabled: true } },
        networkPolicy: { enabled: true, webhookFrom: [{ ipBlock: { cidr: '10.0.0.0/24' } }] },
      }),
      undefined,
    ],
    ['Kubernetes 1.20', {}, '1.20.0'],
    ['Kubernetes 1.30', {}, '1.30.0'],
  ];
  for (const [label, values, kubeVersion] of cases) {
    it(`is clean with --strict: ${label}`, () => {
      const result = helmLint({ values, strict: true, ...(kubeVersion === undefined ? {} : { kubeVersion }) });
      assert.ok(result.ok, result.stdout + result.stderr);
      assert.deepEqual(problems(result.stdout + result.stderr), []);
      assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });
  }

  it('is clean without --strict too', () => {
    const result = helmLint();
    assert.ok(result.ok, result.stdout + result.stderr);
  });
});

describe('values.schema.json', () => {
  const rejected: readonly [string, Record<string, unknown>, RegExp][] = [
    ['an unknown mode', { mode: 'strict' }, /mode must be one of the following: "enforce", "warn", "audit"/],
    [
      'a string replica count',
      { replicaCount: 'two' },
      /replicaCount: Invalid type\. Expected: integer, given: string/,
    ],
    ['a number for a boolean', { ha: { enabled: 1 } }, /ha\.enabled: Invalid type\. Expected: boolean/],
    ['an unknown TLS mode', { tls: { mode: 'vault' } }, /tls\.mode must be one of the following/],
    [
      'an unknown failurePolicy',
      { webhooks: { mutating: { failurePolicy: 'Maybe' } } },
      /failurePolicy must be one of the following: "Ignore", "Fail"/,
    ],
    [
      'a timeout above 30 s',
      { webhooks: { workloads: { timeoutSeconds: 31 } } },
      /timeoutSeconds: Must be less than or equal to 30/,
    ],
    [
      'an unknown rule',
      { rules: { 'no-such-rule': { mode: 'warn' } } },
      /Additional property no-such-rule is not allowed/,
    ],
    ['an unknown rule mode', { rules: { 'api-token': { mode: 'block' } } }, /mode must be one of the following/],
    [
      'a bad sidecar quantity',
      { rules: { 'sidecar-resources': { defaults: { cpuLimit: 'lots' } } } },
      /cpuLimit: Does not match pattern/,
    ],
    [
      'an unknown namespace mode source',
      { namespaceModes: { source: 'labels' } },
      /source must be one of the following: "kubernetes", "auto", "off"/,
    ],
    ['an unknown log level', { logLevel: 'verbose' }, /logLevel must be one of the following/],
    ['a misspelt top-level key', { replicas: 3 }, /Additional property replicas is not allowed/],
    [
      'a misspelt nested key',
      { webhooks: { mutating: { failurepolicy: 'Fail' } } },
      /Additional property failurepolicy is not allowed/,
    ],
    ['an image digest without algorithm', { image: { digest: 'abc' } }, /digest: Does not match pattern/],
    [
      'a matchCondition without expression',
      { webhooks: { mutating: { matchConditions: [{ name: 'x' }] } } },
      /expression is required/,
    ],
  ];
  for (const [label, values, message] of rejected) {
    it(`rejects ${label}`, () => {
      const result = helmTemplateResult({ values });
      assert.equal(result.ok, false, `rendered despite ${JSON.stringify(values)}`);
      assert.match(result.stderr, message);
    });
  }

  it('accepts values from a parent chart under global', () => {
    assert.ok(helmTemplateResult({ values: { global: { imageRegistry: 'x' } } }).ok);
  });
});

/** Dotted paths of values.yaml down to scalars, lists and empty maps; free-form Kubernetes structures count as one key. */
function valuePaths(values: Record<string, unknown>, prefix = ''): string[] {
  const opaque = new Set(['resources', 'podSecurityContext', 'containerSecurityContext']);
  return Object.entries(values).flatMap(([key, value]) => {
    const path = `${prefix}${key}`;
    const isMap = typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length > 0;
    return isMap && !opaque.has(path) ? valuePaths(value as Record<string, unknown>, `${path}.`) : [path];
  });
}

describe('documentation', () => {
  const values = parseYaml(chartFile('values.yaml')) as Record<string, unknown>;
  const readme = chartFile('README.md');
  const tableKeys = [...readme.matchAll(/^\| `([^`]+)` \|/gm)].map((match) => match[1] ?? '');

  it('README lists every value in its table', () => {
    const missing = valuePaths(values).filter((path) => !tableKeys.includes(path));
    assert.deepEqual(missing, []);
    for (const key of Object.keys(values))
      assert.ok(tableKeys.includes(key) || tableKeys.some((row) => row.startsWith(`${key}.`)), key);
  });

  it('README lists no value that does not exist', () => {
    const paths = valuePaths(values);
    const stale = tableKeys.filter((key) => !paths.includes(key) && !paths.some((path) => path.startsWith(`${key}.`)));
    assert.deepEqual(stale, []);
  });

  it('README gives the one-command install', () => {
    assert.ok(
      readme.includes('helm install dapr-guard charts/dapr-guard --namespace dapr-guard-system --create-namespace'),
    );
  });

  it('values.yaml comments every key of the first two levels', () => {
    const lines = chartFile('values.yaml').split('\n');
    const undocumented = lines.flatMap((line, index) => {
      if (!/^(?: {2})?[A-Z][\w-]*:/i.test(line)) return [];
      const near = [lines[index - 1], lines[index + 1]].map((neighbour) => (neighbour ?? '').trim());
      return near.some((neighbour) => neighbour.startsWith('#')) ? [] : [`${index + 1}: ${line}`];
    });
    assert.deepEqual(undocumented, []);
  });

  it('NOTES.txt tells how to check that it works', () => {
    const notes = chartFile('templates/NOTES.txt');
    assert.ok(notes.includes('kubectl apply --dry-run=server'));
    assert.ok(notes.includes('dapr.io/enabled: "true"'));
    assert.ok(notes.includes('rollout status'));
  });

  it("NOTES.txt's check matches the mode: annotations in enforce and warn, where to look in audit", () => {
    const logs = 'kubectl -n dapr-guard-system logs deployment/dapr-guard | grep \'"name":"dapr-guard-check"\'';
    const metric = 'curl -s http://localhost:9090/metrics | grep \'^dapr_guard_rule_mutations_total{.*mode="audit"\'';
    const annotations = 'Expected: the four annotations dapr-guard added';
    const audit = '"mutate.dapr-guard.io/sidecar-resources": "would set dapr.io/sidecar-cpu-request=100m, ..."';
    const cases = [
      [{ mode: 'enforce' }, [annotations, logs, 'Error from server'], [audit, metric, 'prints nothing']],
      [{ mode: 'warn' }, [annotations, logs, 'nothing is refused'], [audit, metric, 'prints nothing']],
      [{ mode: 'audit' }, ['Expected in audit mode: the command prints nothing', logs, metric, audit], [annotations]],
      [{ mode: 'audit', metrics: { enabled: false } }, ['prints nothing', logs, audit], [metric, annotations]],
    ] as const;
    assert.equal(cases.length, 4);
    for (const [values, present, absent] of cases) {
      const notes = renderNotes(values);
      assert.ok(notes.includes('kubectl apply --dry-run=server'), JSON.stringify(values));
      for (const text of present) assert.ok(notes.includes(text), `${JSON.stringify(values)} lacks ${text}`);
      for (const text of absent) assert.ok(!notes.includes(text), `${JSON.stringify(values)} has ${text}`);
    }
  });

  it('NOTES.txt below Kubernetes 1.21 gives the label command for every namespace the selectors name', () => {
    const labelCommands = (notes: string): string[] =>
      notes.split('\n').filter((line) => line.trim().startsWith('kubectl label namespace'));
    const values = { webhooks: { namespaceSelector: { excludeNamespaces: ['monitoring'] } } };
    assert.deepEqual(
      labelCommands(renderNotes(values, '1.20.0')).map((line) => line.trim()),
      ['dapr-guard-system', 'kube-system', 'monitoring', 'default'].map(
        (name) => `kubectl label namespace ${name} kubernetes.io/metadata.name=${name} --overwrite`,
      ),
    );
    assert.deepEqual(labelCommands(renderNotes(values, '1.21.0')), []);
  });

  it('Chart.yaml appVersion is the server version', () => {
    const chart = parseYaml(chartFile('Chart.yaml')) as { appVersion: string };
    const manifest = JSON.parse(readFileSync(join(CHART_DIR, '..', '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    assert.equal(chart.appVersion, manifest.version);
  });
});
