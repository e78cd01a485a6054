/**
 * The chart's optional PrometheusRule and Grafana dashboard: what they render, that promtool accepts
 * and fires the alerts, and that every metric they read is one the server exports on /metrics.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CHART_DIR, helmLint, helmTemplate, helmTemplateResult, type KubeObject } from '../support/helm.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const NAMESPACE = 'dapr-guard-system';
const BOTH = { monitoring: { prometheusRule: { enabled: true }, grafanaDashboard: { enabled: true } } };

interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

interface RuleGroup {
  readonly name: string;
  readonly rules: readonly AlertRule[];
}

interface Target {
  readonly expr: string;
}

interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly targets: readonly Target[];
}

interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: ReadonlyArray<{ readonly name: string; readonly definition?: string }> };
}

function render(values: Record<string, unknown>): KubeObject[] {
  return helmTemplate({ values, namespace: NAMESPACE });
}

function prometheusRule(objects: readonly KubeObject[]): KubeObject {
  const found = objects.filter((object) => object.kind === 'PrometheusRule');
  assert.equal(found.length, 1, 'one PrometheusRule');
  const [rule] = found;
  assert.ok(rule !== undefined);
  return rule;
}

function groupsOf(rule: KubeObject): RuleGroup[] {
  return (rule['spec'] as { groups: RuleGroup[] }).groups;
}

function alertsOf(values: Record<string, unknown>): AlertRule[] {
  return groupsOf(prometheusRule(render(values))).flatMap((group) => group.rules);
}

function alertNamed(alerts: readonly AlertRule[], name: string): AlertRule {
  const found = alerts.find((alert) => alert.alert === name);
  assert.ok(found !== undefined, `alert ${name} is rendered`);
  return found;
}

function dashboardConfigMap(objects: readonly KubeObject[]): KubeObject {
  const found = objects.filter(
    (object) => object.kind === 'ConfigMap' && object.metadata?.labels?.['grafana_dashboard'] !== undefined,
  );
  assert.equal(found.length, 1, 'one dashboard ConfigMap');
  const [configMap] = found;
  assert.ok(configMap !== undefined);
  return configMap;
}

function dashboardOf(configMap: KubeObject): Dashboard {
  const data = configMap['data'] as Record<string, string>;
  assert.deepEqual(Object.keys(data), ['dapr-guard.json']);
  return JSON.parse(data['dapr-guard.json'] ?? '') as Dashboard;
}

const ALERTS = [
  'DaprGuardAdmissionErrors',
  'DaprGuardMutateLatencyHigh',
  'DaprGuardValidateLatencyHigh',
  'DaprGuardCertificateExpiresSoon',
  'DaprGuardNamespaceModesNotSynced',
  'DaprGuardDenialsSpike',
];

describe('monitoring: what the chart renders', () => {
  it('renders neither the PrometheusRule nor the dashboard by default', () => {
    const objects = render({});
    assert.ok(objects.length > 0);
    assert.deepEqual(
      objects.filter((object) => object.kind === 'PrometheusRule'),
      [],
    );
    assert.deepEqual(
      objects.filter((object) => object.metadata?.labels?.['grafana_dashboard'] !== undefined),
      [],
    );
  });

  it('renders the six alerts in the release namespace, with the extra labels', () => {
    const rule = prometheusRule(
      render({ monitoring: { prometheusRule: { enabled: true, labels: { release: 'kube-prometheus-stack' } } } }),
    );
    assert.equal(rule.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(rule.metadata?.namespace, NAMESPACE);
    assert.equal(rule.metadata?.labels?.['release'], 'kube-prometheus-stack');
    const alerts = groupsOf(rule).flatMap((group) => group.rules);
    assert.equal(alerts.length, ALERTS.length);
    assert.deepEqual(
      alerts.map((alert) => alert.alert),
      ALERTS,
    );
    for (const alert of alerts) {
      assert.ok(alert.expr.includes(`namespace="${NAMESPACE}"`), `${alert.alert} selects the release namespace`);
      assert.ok(
        ['info', 'warning', 'critical'].includes(alert.labels['severity'] ?? ''),
        `${alert.alert} has a severity`,
      );
      assert.ok(
        (alert.annotations['summary'] ?? '') !== '' && (alert.annotations['description'] ?? '') !== '',
        `${alert.alert} says what and why`,
      );
    }
  });

  it('leaves out the namespace-modes alert when the labels are not watched', () => {
    const names = alertsOf({ ...BOTH, namespaceModes: { source: 'off' } }).map((alert) => alert.alert);
    assert.equal(names.length, ALERTS.length - 1);
    assert.ok(!names.includes('DaprGuardNamespaceModesNotSynced'));
  });

  it('sets the latency thresholds from half of the webhook timeouts', () => {
    const defaults = alertsOf(BOTH);
    // 2 s mutating: 1 s is exactly half. 3 s validating: 1.5 s; the largest bucket at or below it is 1 s.
    assert.match(alertNamed(defaults, 'DaprGuardMutateLatencyHigh').expr, /endpoint="mutate",le=~"1\(\\\\\.0\)\?"/);
    assert.match(alertNamed(defaults, 'DaprGuardValidateLatencyHigh').expr, /endpoint="validate",le=~"1\(\\\\\.0\)\?"/);
    const faster = alertsOf({
      ...BOTH,
      webhooks: { mutating: { timeoutSeconds: 1 }, controlPlane: { timeoutSeconds: 1 } },
    });
    assert.match(alertNamed(faster, 'DaprGuardMutateLatencyHigh').expr, /endpoint="mutate",le="0\.5"/);
    assert.match(alertNamed(faster, 'DaprGuardValidateLatencyHigh').expr, /endpoint="validate",le="0\.5"/);
    assert.equal(
      alertNamed(faster, 'DaprGuardValidateLatencyHigh').annotations['summary'],
      'p99 of dapr-guard /validate reviews is above 0.5s',
    );
  });

  it('sets the error, certificate and denial thresholds from values', () => {
    const alerts = alertsOf({
      monitoring: {
        prometheusRule: {
          enabled: true,
          errorRatioThreshold: 0.2,
          certificateExpiryDays: 30,
          denialsSpikeMinimum: 50,
          denialsSpikeFactor: 5,
        },
      },
    });
    assert.match(alertNamed(alerts, 'DaprGuardAdmissionErrors').expr, /> 0\.2\n$/);
    assert.equal(
      alertNamed(alerts, 'DaprGuardAdmissionErrors').annotations['summary'],
      'dapr-guard answers more than 20% of admission reviews with an error',
    );
    assert.match(alertNamed(alerts, 'DaprGuardCertificateExpiresSoon').expr, /< 30 \* 86400/);
    assert.match(alertNamed(alerts, 'DaprGuardDenialsSpike').expr, />= 50\n/);
    assert.match(alertNamed(alerts, 'DaprGuardDenialsSpike').expr, /> 5 \* \(sum/);
  });

  it('refuses alerts or a dashboard without metrics, saying which value', () => {
    const cases: readonly [string, Record<string, unknown>][] = [
      ['monitoring.prometheusRule.enabled', { monitoring: { prometheusRule: { enabled: true } } }],
      ['monitoring.grafanaDashboard.enabled', { monitoring: { grafanaDashboard: { enabled: true } } }],
    ];
    assert.equal(cases.length, 2);
    for (const [value, values] of cases) {
      const result = helmTemplateResult({ values: { ...values, metrics: { enabled: false } } });
      assert.equal(result.ok, false);
      assert.ok(result.stderr.includes(`${value}=true needs metrics.enabled=true`), result.stderr);
    }
  });

  it('values.schema.json refuses bad monitoring values', () => {
    const cases: readonly [Record<string, unknown>, RegExp][] = [
      [
        { monitoring: { prometheusRule: { errorRatioThreshold: 5 } } },
        /errorRatioThreshold: Must be less than or equal to 1/,
      ],
      [
        { monitoring: { prometheusRule: { certificateExpiryDays: 0 } } },
        /certificateExpiryDays: Must be greater than or equal to 1/,
      ],
      [{ monitoring: { grafanaDashboard: { enable: true } } }, /Additional property enable is not allowed/],
    ];
    assert.equal(cases.length, 3);
    for (const [values, message] of cases) {
      const result = helmTemplateResult({ values });
      assert.equal(result.ok, false, JSON.stringify(values));
      assert.match(result.stderr, message);
    }
  });

  it('helm lint --strict is clean with both on', () => {
    const result = helmLint({ values: BOTH, strict: true });
    assert.ok(result.ok, result.stdout + result.stderr);
    assert.doesNotMatch(result.stdout + result.stderr, /\[(WARNING|ERROR)\]/);
  });

  it('ships the dashboard as a ConfigMap for the Grafana sidecar', () => {
    const configMap = dashboardConfigMap(
      render({ monitoring: { grafanaDashboard: { enabled: true, annotations: { grafana_folder: 'Dapr' } } } }),
    );
    assert.equal(configMap.metadata?.labels?.['grafana_dashboard'], '1');
    assert.equal(configMap.metadata?.namespace, NAMESPACE);
    assert.equal(configMap.metadata?.annotations?.['grafana_folder'], 'Dapr');
    const elsewhere = dashboardConfigMap(
      render({ monitoring: { grafanaDashboard: { enabled: true, namespace: 'monitoring' } } }),
    );
    assert.equal(elsewhere.metadata?.namespace, 'monitoring');
  });

  it('the dashboard has the panels operators look for, each with a query', () => {
    const dashboard = dashboardOf(dashboardConfigMap(render(BOTH)));
    assert.equal(dashboard.uid, 'dapr-guard');
    assert.equal(dashboard.panels.length, 12);
    const titles = dashboard.panels.map((panel) => panel.title);
    for (const title of [
      'Reviews by decision',
      'Violations by rule and mode',
      'Review latency',
      'Errors by endpoint and code',
      'Serving certificate expires in',
    ]) {
      assert.ok(titles.includes(title), title);
    }
    assert.equal(
      new Set(dashboard.panels.map((panel) => panel.id)).size,
      dashboard.panels.length,
      'panel ids are unique',
    );
    for (const panel of dashboard.panels)
      assert.ok(panel.targets.length > 0 && panel.targets.every((target) => target.expr.trim() !== ''), panel.title);
    assert.deepEqual(
      dashboard.templating.list.map((variable) => variable.name),
      ['datasource', 'namespace'],
    );
  });

  it('the ConfigMap holds the dashboard file unchanged', () => {
    const file = JSON.parse(readFileSync(join(CHART_DIR, 'dashboards', 'dapr-guard.json'), 'utf8')) as Dashboard;
    assert.deepEqual(dashboardOf(dashboardConfigMap(render(BOTH))), file);
  });
});

// --- promtool -------------------------------------------------------------------------------------

const PROMTOOL = process.env['PROMTOOL'] ?? 'promtool';
const promtoolMissing = spawnSync(PROMTOOL, ['--version'], { encoding: 'utf8' }).error !== undefined;
const SKIP_PROMTOOL = promtoolMissing
  ? `promtool not found (${PROMTOOL}); install it with: apt-get install -y prometheus (Debian), or set PROMTOOL`
  : false;

function promtool(args: readonly string[], cwd: string): { ok: boolean; output: string } {
  const result = spawnSync(PROMTOOL, [...args], { cwd, encoding: 'utf8' });
  if (result.error !== undefined) throw result.error;
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

/** A scratch directory with rules.json (the rendered groups, as Prometheus reads them). */
function withRulesFile<T>(groups: readonly RuleGroup[], run: (directory: string) => T): T {
  const directory = mkdtempSync(join(tmpdir(), 'dapr-guard-promtool-'));
  try {
    writeFileSync(join(directory, 'rules.json'), JSON.stringify({ groups }));
    return run(directory);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

const series = (name: string, labels: Record<string, string>): string =>
  `${name}{${Object.entries({ namespace: NAMESPACE, ...labels })
    .map(([key, value]) => `${key}="${value}"`)
    .join(',')}}`;

describe('monitoring: promtool', { skip: SKIP_PROMTOOL }, () => {
  it('check rules accepts the rendered rules, with and without the namespace-modes alert', () => {
    const variants: readonly Record<string, unknown>[] = [BOTH, { ...BOTH, namespaceModes: { source: 'off' } }];
    assert.equal(variants.length, 2);
    for (const values of variants) {
      const groups = groupsOf(prometheusRule(render(values)));
      const count = groups.flatMap((group) => group.rules).length;
      const result = withRulesFile(groups, (directory) => promtool(['check', 'rules', 'rules.json'], directory));
      assert.ok(result.ok, result.output);
      assert.match(result.output, new RegExp(`SUCCESS: ${count} rules found`));
    }
  });

  it('test rules: the alerts fire when they should and stay quiet otherwise', () => {
    const groups = groupsOf(prometheusRule(render(BOTH)));
    const alerts = groups.flatMap((group) => group.rules);
    const annotations = (name: string): Readonly<Record<string, string>> => alertNamed(alerts, name).annotations;
    const pod = 'dapr-guard-7d9f-abcde';
    const certificate = alertNamed(alerts, 'DaprGuardCertificateExpiresSoon').annotations;
    const tests = [
      {
        name: 'errors: 6 of 66 reviews per minute fail (9%), above 5%',
        interval: '1m',
        input_series: [
          {
            series: series('dapr_guard_admission_reviews_total', {
              endpoint: 'validate',
              decision: 'allowed',
              mode: 'enforce',
            }),
            values: '0+60x40',
          },
          {
            series: series('dapr_guard_admission_reviews_total', {
              endpoint: 'validate',
              decision: 'error',
              mode: 'enforce',
            }),
            values: '0+6x40',
          },
        ],
        alert_rule_test: [
          { eval_time: '10m', alertname: 'DaprGuardAdmissionErrors', exp_alerts: [] },
          {
            eval_time: '25m',
            alertname: 'DaprGuardAdmissionErrors',
            exp_alerts: [
              { exp_labels: { severity: 'warning' }, exp_annotations: annotations('DaprGuardAdmissionErrors') },
            ],
          },
        ],
      },
      {
        name: 'errors: 1 of 101 (1%) stays quiet',
        interval: '1m',
        input_series: [
          {
            series: series('dapr_guard_admission_reviews_total', {
              endpoint: 'mutate',
              decision: 'patched',
              mode: 'enforce',
            }),
            values: '0+100x40',
          },
          {
            series: series('dapr_guard_admission_reviews_total', {
              endpoint: 'mutate',
              decision: 'error',
              mode: 'enforce',
            }),
            values: '0+1x40',
          },
        ],
        alert_rule_test: [{ eval_time: '30m', alertname: 'DaprGuardAdmissionErrors', exp_alerts: [] }],
      },
      {
        name: 'latency: 3% of /mutate reviews above 1 s fire; /validate with 0.5% stays quiet',
        interval: '1m',
        input_series: [
          {
            series: series('dapr_guard_admission_review_duration_seconds_count', { endpoint: 'mutate' }),
            values: '0+100x40',
          },
          {
            series: series('dapr_guard_admission_review_duration_seconds_bucket', { endpoint: 'mutate', le: '1' }),
            values: '0+97x40',
          },
          {
            series: series('dapr_guard_admission_review_duration_seconds_count', { endpoint: 'validate' }),
            values: '0+200x40',
          },
          {
            series: series('dapr_guard_admission_review_duration_seconds_bucket', { endpoint: 'validate', le: '1' }),
            values: '0+199x40',
          },
        ],
        alert_rule_test: [
          {
            eval_time: '25m',
            alertname: 'DaprGuardMutateLatencyHigh',
            exp_alerts: [
              { exp_labels: { severity: 'warning' }, exp_annotations: annotations('DaprGuardMutateLatencyHigh') },
            ],
          },
          { eval_time: '25m', alertname: 'DaprGuardValidateLatencyHigh', exp_alerts: [] },
        ],
      },
      {
        name: 'certificate: 11.5 days left fires, 23 days does not',
        interval: '1m',
        input_series: [
          { series: series('dapr_guard_certificate_expiry_timestamp_seconds', { pod }), values: '1000000x30' },
          {
            series: series('dapr_guard_certificate_expiry_timestamp_seconds', { pod: 'healthy' }),
            values: '2000000x30',
          },
        ],
        alert_rule_test: [
          {
            eval_time: '15m',
            alertname: 'DaprGuardCertificateExpiresSoon',
            exp_alerts: [
              {
                exp_labels: { severity: 'critical', namespace: NAMESPACE, pod },
                exp_annotations: {
                  summary: certificate['summary'],
                  // 1000000 s - 900 s at 15 minutes = 11d 13h 31m 40s
                  description: (certificate['description'] ?? '')
                    .replace('{{ $labels.pod }}', pod)
                    .replace('{{ $value | humanizeDuration }}', '11d 13h 31m 40s'),
                },
              },
            ],
          },
        ],
      },
      {
        name: 'namespace modes: a pod that never syncs fires after 10 minutes',
        interval: '1m',
        input_series: [
          { series: series('dapr_guard_namespace_modes_synced', { pod }), values: '0x30' },
          { series: series('dapr_guard_namespace_modes_synced', { pod: 'synced' }), values: '1x30' },
        ],
        alert_rule_test: [
          { eval_time: '5m', alertname: 'DaprGuardNamespaceModesNotSynced', exp_alerts: [] },
          {
            eval_time: '15m',
            alertname: 'DaprGuardNamespaceModesNotSynced',
            exp_alerts: [
              {
                exp_labels: { severity: 'warning', namespace: NAMESPACE, pod },
                exp_annotations: {
                  summary: annotations('DaprGuardNamespaceModesNotSynced')['summary'],
                  description: (annotations('DaprGuardNamespaceModesNotSynced')['description'] ?? '').replace(
                    '{{ $labels.pod }}',
                    pod,
                  ),
                },
              },
            ],
          },
        ],
      },
      {
        name: 'denials: a burst after a quiet day fires; a steady rate does not',
        interval: '1m',
        input_series: [
          {
            series: series('dapr_guard_admission_reviews_total', {
              endpoint: 'validate',
              decision: 'denied',
              mode: 'enforce',
            }),
            values: '0x20 0+5x15',
          },
        ],
        alert_rule_test: [
          { eval_time: '15m', alertname: 'DaprGuardDenialsSpike', exp_alerts: [] },
          {
            eval_time: '30m',
            alertname: 'DaprGuardDenialsSpike',
            exp_alerts: [{ exp_labels: { severity: 'info' }, exp_annotations: annotations('DaprGuardDenialsSpike') }],
          },
        ],
      },
      {
        // The baseline is the day before: a steady rate needs a day of history to be seen as steady.
        name: 'denials: a steady 5 per minute for a day stays quiet',
        interval: '5m',
        input_series: [
          {
            series: series('dapr_guard_admission_reviews_total', {
              endpoint: 'validate',
              decision: 'denied',
              mode: 'enforce',
            }),
            values: '0+25x320',
          },
        ],
        alert_rule_test: [{ eval_time: '26h', alertname: 'DaprGuardDenialsSpike', exp_alerts: [] }],
      },
    ];
    const alertsTested = new Set(tests.flatMap((test) => test.alert_rule_test.map((check) => check.alertname)));
    assert.deepEqual([...alertsTested].sort(), [...ALERTS].sort(), 'every alert has a unit test');
    const result = withRulesFile(groups, (directory) => {
      writeFileSync(
        join(directory, 'tests.json'),
        JSON.stringify({ rule_files: ['rules.json'], evaluation_interval: '1m', tests }),
      );
      return promtool(['test', 'rules', 'tests.json'], directory);
    });
    assert.ok(result.ok, result.output);
    assert.match(result.output, /SUCCESS/);
  });
});

// --- metric names ---------------------------------------------------------------------------------

function scrape(port: number | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    httpGet(`http://127.0.0.1:${port ?? 0}/metrics`, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () =>
        response.statusCode === 200 ? resolve(body) : reject(new Error(`/metrics answered ${response.statusCode}`)),
      );
    }).on('error', reject);
  });
}

/** Every series name /metrics can carry: the families of its `# TYPE` lines, histograms and summaries with their suffixes. */
function exportedSeriesNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name = '', type = ''] = match;
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_count', '_sum']) names.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_count', '_sum']) names.add(`${name}${suffix}`);
  }
  return names;
}

/** The metric names a PromQL expression reads: every `name{` selector and every dapr_guard_ name. */
function metricNamesIn(expression: string): string[] {
  const selectors = [...expression.matchAll(/(?<![\w:])([A-Z_:][\w:]*)\s*\{/gi)].map((match) => match[1] ?? '');
  const prefixed = [...expression.matchAll(/\b(dapr_guard_[a-z0-9_]+)\b/g)].map((match) => match[1] ?? '');
  return [...new Set([...selectors, ...prefixed])];
}

describe('monitoring: every metric an alert or a panel reads is on /metrics', () => {
  let server: TestServer;
  let exported: Set<string>;
  before(async () => {
    server = await startTestServer();
    exported = exportedSeriesNames(await scrape(server.server.metricsPort));
  });
  after(() => server.close());

  it('the server exports the dapr_guard_ families', () => {
    assert.ok(exported.has('dapr_guard_admission_reviews_total'));
    assert.ok(exported.has('dapr_guard_admission_review_duration_seconds_bucket'));
  });

  it('alert expressions', () => {
    const alerts = alertsOf(BOTH);
    assert.equal(alerts.length, ALERTS.length);
    for (const alert of alerts) {
      const names = metricNamesIn(alert.expr);
      assert.ok(names.length > 0, `${alert.alert} reads a metric`);
      assert.deepEqual(
        names.filter((name) => !exported.has(name)),
        [],
        `${alert.alert} reads only exported metrics`,
      );
    }
  });

  it('dashboard queries and variables', () => {
    const dashboard = dashboardOf(dashboardConfigMap(render(BOTH)));
    const queries = [
      ...dashboard.panels.flatMap((panel) =>
        panel.targets.map((target) => ({ where: panel.title, expression: target.expr })),
      ),
      ...dashboard.templating.list.flatMap((variable) =>
        variable.definition === undefined
          ? []
          : [{ where: `variable ${variable.name}`, expression: variable.definition }],
      ),
    ];
    assert.equal(queries.length, 14);
    for (const { where, expression } of queries) {
      const names = metricNamesIn(expression);
      assert.ok(names.length > 0, `${where} reads a metric`);
      assert.deepEqual(
        names.filter((name) => !exported.has(name)),
        [],
        `${where} reads only exported metrics`,
      );
    }
  });

  it('would notice a metric the server does not export', () => {
    assert.deepEqual(
      metricNamesIn('rate(dapr_guard_reviews_total[5m])').filter((name) => !exported.has(name)),
      ['dapr_guard_reviews_total'],
    );
    assert.deepEqual(
      metricNamesIn('up{job="x"}').filter((name) => !exported.has(name)),
      ['up'],
    );
  });
});
