/**
 * The ConfigMap the chart renders is read by the server's own loader: whatever the values, the
 * server must accept it (it refuses to start on an unknown key or a bad value).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { buildConfig, type Config, type ConfigLayer } from '../../src/config/config.ts';
import { RULE_IDS } from '../../src/rules/index.ts';
import { PRODUCTION_SIDECAR_RESOURCES } from '../../src/rules/support/dapr-annotations.ts';
import { CHART_DIR, helmTemplate, helmTemplateResult, type RenderOptions } from '../support/helm.ts';
import { configText, FAKE_CA_PEM, mergeValues, NAMESPACE, TLS_CHOICE_NAMES, TLS_CHOICES } from './objects.ts';

function serverConfig(options: RenderOptions = {}): Config {
  const layer = parseYaml(configText(helmTemplate(options))) as ConfigLayer;
  return buildConfig([layer], RULE_IDS);
}

describe('rendered server configuration', () => {
  it('is accepted by the server for the defaults, with in-cluster settings', () => {
    const config = serverConfig();
    assert.equal(config.mode, 'enforce');
    assert.deepEqual(config.server, {
      host: '0.0.0.0',
      port: 8443,
      bodyLimitBytes: 5 * 1024 * 1024,
      maxInflightBodyBytes: 10 * 1024 * 1024,
      requestTimeoutSeconds: 30,
      headersTimeoutSeconds: 10,
      maxConcurrentStreams: 128,
      maxConnections: 1024,
      shutdownDelaySeconds: 5,
      shutdownGracePeriodSeconds: 20,
    });
    assert.deepEqual(config.metrics, { enabled: true, host: '0.0.0.0', port: 9090 });
    assert.equal(config.tls.generateIfMissing, false);
    assert.equal(config.tls.serviceName, 'dapr-guard');
    assert.equal(config.tls.serviceNamespace, NAMESPACE);
    assert.equal(config.tls.certFile, '/var/run/dapr-guard/tls/tls.crt');
    assert.equal(config.tls.keyFile, '/var/run/dapr-guard/tls/tls.key');
    assert.equal(config.tls.selfManaged.enabled, false);
    assert.equal(config.namespaceModes.source, 'kubernetes');
    assert.equal(config.exemptions.enabled, true);
    assert.equal(config.log.level, 'info');
    assert.deepEqual(config.sidecarDefaults, PRODUCTION_SIDECAR_RESOURCES);
  });

  for (const choice of TLS_CHOICE_NAMES) {
    it(`is accepted by the server with TLS choice ${choice}`, () => {
      const config = serverConfig({ values: TLS_CHOICES[choice] });
      assert.equal(config.tls.selfManaged.enabled, choice === 'selfManaged');
      assert.equal(config.tls.generateIfMissing, false);
    });
  }

  for (const choice of TLS_CHOICE_NAMES) {
    it(`is accepted with every option changed, TLS choice ${choice}`, () => {
      // Self-managed TLS needs the metrics port: the probes answer there before the HTTPS port has a certificate.
      const metricsEnabled = choice === 'selfManaged';
      const values = mergeValues(TLS_CHOICES[choice], {
        mode: 'audit',
        rules: Object.fromEntries(RULE_IDS.map((id) => [id, { mode: 'warn', enabled: false }])),
        exemptions: { enabled: false },
        namespaceModes: { source: 'off' },
        logLevel: 'debug',
        server: { listenAddress: '::', bodyLimitBytes: 2048, shutdownDelaySeconds: 1, shutdownGracePeriodSeconds: 2 },
        metrics: { enabled: metricsEnabled, port: 9999 },
        tls: { reloadIntervalSeconds: 60 },
      });
      const config = serverConfig({ values, releaseName: 'guard', namespace: 'policy' });
      assert.equal(config.mode, 'audit');
      for (const id of RULE_IDS) assert.deepEqual(config.rules[id], { mode: 'warn', enabled: false }, id);
      assert.equal(config.exemptions.enabled, false);
      assert.equal(config.namespaceModes.source, 'off');
      assert.equal(config.log.level, 'debug');
      assert.equal(config.server.host, '::');
      assert.equal(config.metrics.host, '::');
      assert.deepEqual(config.metrics, { enabled: metricsEnabled, host: '::', port: 9999 });
      assert.equal(config.tls.reloadIntervalSeconds, 60);
      assert.equal(config.tls.serviceName, 'guard-dapr-guard');
      assert.equal(config.tls.serviceNamespace, 'policy');
    });
  }

  it('passes self-managed TLS settings through', () => {
    const config = serverConfig({
      values: {
        tls: {
          mode: 'selfManaged',
          selfManaged: { secretName: 'pki', validityDays: 90, renewBeforeDays: 15, checkIntervalSeconds: 20 },
        },
      },
    });
    assert.deepEqual(config.tls.selfManaged, {
      enabled: true,
      secretName: 'pki',
      secretNamespace: NAMESPACE,
      mutatingWebhookConfiguration: 'dapr-guard',
      validatingWebhookConfiguration: 'dapr-guard',
      validityDays: 90,
      renewBeforeDays: 15,
      checkIntervalSeconds: 20,
    });
  });

  it('passes the transport limits through', () => {
    const limits = {
      maxInflightBodyBytes: 8 * 1024 * 1024,
      requestTimeoutSeconds: 12,
      headersTimeoutSeconds: 4,
      maxConcurrentStreams: 64,
      maxConnections: 300,
    };
    const config = serverConfig({ values: { server: limits } });
    assert.deepEqual(
      {
        maxInflightBodyBytes: config.server.maxInflightBodyBytes,
        requestTimeoutSeconds: config.server.requestTimeoutSeconds,
        headersTimeoutSeconds: config.server.headersTimeoutSeconds,
        maxConcurrentStreams: config.server.maxConcurrentStreams,
        maxConnections: config.server.maxConnections,
      },
      limits,
    );
    const layer = parseYaml(configText(helmTemplate({ values: { server: limits } }))) as {
      server: Record<string, unknown>;
    };
    assert.deepEqual(Object.keys(layer.server).sort(), [
      'bodyLimitBytes',
      'headersTimeoutSeconds',
      'host',
      'maxConcurrentStreams',
      'maxConnections',
      'maxInflightBodyBytes',
      'port',
      'requestTimeoutSeconds',
      'shutdownDelaySeconds',
      'shutdownGracePeriodSeconds',
    ]);
  });

  it('refuses transport limits the server would refuse, at render time', () => {
    const cases = [
      [
        { maxInflightBodyBytes: 4096, bodyLimitBytes: 8192 },
        /server\.maxInflightBodyBytes \(4096\) must be at least server\.bodyLimitBytes \(8192\)/,
      ],
      [
        { headersTimeoutSeconds: 20, requestTimeoutSeconds: 10 },
        /server\.headersTimeoutSeconds \(20\) must not be above server\.requestTimeoutSeconds \(10\)/,
      ],
      [{ requestTimeoutSeconds: 301 }, /server\.requestTimeoutSeconds: Must be less than or equal to 300/],
      [{ maxConnections: 0 }, /server\.maxConnections: Must be greater than or equal to 1/],
      [{ maxConcurrentStreams: 65_536 }, /server\.maxConcurrentStreams: Must be less than or equal to 65535/],
    ] as const;
    assert.equal(cases.length, 5);
    for (const [server, message] of cases) {
      const result = helmTemplateResult({ values: { server } });
      assert.equal(result.ok, false, JSON.stringify(server));
      assert.match(result.stderr, message);
    }
  });

  it('is accepted with tls.clientCA, and points tls.clientCAFile at the mounted CA', () => {
    const config = serverConfig({ values: { tls: { clientCA: FAKE_CA_PEM } } });
    assert.equal(config.tls.clientCAFile, '/var/run/dapr-guard/client-ca/ca.crt');
    assert.equal(serverConfig().tls.clientCAFile, '');
  });

  it('refuses sidecar defaults the server refuses: not a quantity, negative, too long', () => {
    const cases = [
      [{ cpuRequest: '-100m' }, /rules\.sidecar-resources\.defaults\.cpuRequest: Does not match pattern/],
      [{ memoryLimit: '-1Gi' }, /rules\.sidecar-resources\.defaults\.memoryLimit: Does not match pattern/],
      [{ cpuLimit: -1 }, /rules\.sidecar-resources\.defaults\.cpuLimit: Must be greater than or equal to 0/],
      [{ memoryRequest: '250 Mi' }, /rules\.sidecar-resources\.defaults\.memoryRequest: Does not match pattern/],
      [{ cpuRequest: '0x10' }, /rules\.sidecar-resources\.defaults\.cpuRequest: Does not match pattern/],
      [{ cpuRequest: '1e3m' }, /rules\.sidecar-resources\.defaults\.cpuRequest: Does not match pattern/],
      [
        { cpuRequest: '1'.repeat(65) },
        /rules\.sidecar-resources\.defaults\.cpuRequest: String length must be less than or equal to 64/,
      ],
    ] as const;
    assert.equal(cases.length, 7);
    for (const [defaults, message] of cases) {
      const result = helmTemplateResult({ values: { rules: { 'sidecar-resources': { defaults } } } });
      assert.equal(result.ok, false, JSON.stringify(defaults));
      assert.match(result.stderr, message, JSON.stringify(defaults));
    }
  });

  it("refuses a sidecar request above its limit, at render time, with the server's startup message", () => {
    const cases = [
      [
        { cpuRequest: 2, cpuLimit: 1 },
        'rules.sidecar-resources.defaults.cpuRequest (2) must not be above cpuLimit (1)',
      ],
      [
        { cpuRequest: '1001m', cpuLimit: '1' },
        'rules.sidecar-resources.defaults.cpuRequest (1001m) must not be above cpuLimit (1)',
      ],
      [{ cpuRequest: '5' }, 'rules.sidecar-resources.defaults.cpuRequest (5) must not be above cpuLimit (4)'],
      [
        { memoryRequest: '5Gi', memoryLimit: '4000Mi' },
        'rules.sidecar-resources.defaults.memoryRequest (5Gi) must not be above memoryLimit (4000Mi)',
      ],
      [
        { memoryRequest: '1G', memoryLimit: '953Mi' },
        'rules.sidecar-resources.defaults.memoryRequest (1G) must not be above memoryLimit (953Mi)',
      ],
    ] as const;
    assert.equal(cases.length, 5);
    for (const [defaults, message] of cases) {
      const result = helmTemplateResult({ values: { rules: { 'sidecar-resources': { defaults } } } });
      assert.equal(result.ok, false, JSON.stringify(defaults));
      assert.equal(
        result.stderr.split('\n')[0],
        `Error: execution error at (dapr-guard/templates/deployment.yaml:1:4): ${message}`,
      );
      const layer = { rules: { 'sidecar-resources': { defaults } } } as ConfigLayer;
      assert.throws(() => buildConfig([layer], RULE_IDS), { message: `invalid configuration:\n  - ${message}` });
    }
  });

  it('accepts sidecar defaults in any unit when no request is above its limit (equal included)', () => {
    const cases = [
      { cpuRequest: 0.1, cpuLimit: '100m' },
      { cpuRequest: '100m', cpuLimit: 0.1 },
      { cpuRequest: '.5', cpuLimit: '500000u' },
      { cpuRequest: '+1', cpuLimit: '1000000000n' },
      { memoryRequest: '4Gi', memoryLimit: '4096Mi' },
      { memoryRequest: '1M', memoryLimit: '1000k' },
      { memoryRequest: '1048576', memoryLimit: '1Mi' },
      { memoryRequest: '1e9', memoryLimit: '1Gi' },
    ];
    assert.equal(cases.length, 8);
    for (const defaults of cases) {
      const config = serverConfig({ values: { rules: { 'sidecar-resources': { defaults } } } });
      assert.ok(config, JSON.stringify(defaults));
    }
  });

  it('passes custom sidecar defaults through, numbers included', () => {
    const config = serverConfig({
      values: {
        rules: {
          'sidecar-resources': {
            defaults: { cpuRequest: '250m', cpuLimit: 2, memoryRequest: '512Mi', memoryLimit: '2Gi' },
          },
        },
      },
    });
    assert.deepEqual(config.sidecarDefaults, {
      cpuRequest: '250m',
      cpuLimit: '2',
      memoryRequest: '512Mi',
      memoryLimit: '2Gi',
    });
  });

  it('writes only the rule settings that are set (rules the server does not know yet are not rendered)', () => {
    const layer = parseYaml(configText(helmTemplate())) as { rules: Record<string, unknown> };
    assert.deepEqual(Object.keys(layer.rules), ['sidecar-resources']);
  });

  it('lets values.schema.json accept every rule the server has', () => {
    const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as {
      properties: { rules: { properties: Record<string, unknown> } };
    };
    for (const id of RULE_IDS)
      assert.ok(id in schema.properties.rules.properties, `values.schema.json has no rules.${id}`);
  });
});

describe('guidelines (chart value)', () => {
  it('dapr-0.11 by default; dapr-1.13 reaches the server with its sidecar table and GOMEMLIMIT', () => {
    assert.equal(serverConfig().guidelines, 'dapr-0.11');
    const config = serverConfig({ values: { guidelines: 'dapr-1.13' } });
    assert.equal(config.guidelines, 'dapr-1.13');
    assert.deepEqual(config.sidecarDefaults, {
      cpuRequest: '100m',
      cpuLimit: '300m',
      memoryRequest: '250Mi',
      memoryLimit: '1000Mi',
    });
    assert.deepEqual(config.ruleOptions['sidecar-resources'], { defaults: {} });
  });

  it('individual values still override the profile, goMemLimit included', () => {
    const config = serverConfig({
      values: {
        guidelines: 'dapr-1.13',
        rules: { 'sidecar-resources': { defaults: { memoryLimit: '2Gi' }, goMemLimit: false } },
      },
    });
    assert.deepEqual(config.sidecarDefaults, {
      cpuRequest: '100m',
      cpuLimit: '300m',
      memoryRequest: '250Mi',
      memoryLimit: '2Gi',
    });
    assert.deepEqual(config.ruleOptions['sidecar-resources'], { defaults: { memoryLimit: '2Gi' }, goMemLimit: false });
  });

  it("refuses an unknown profile, and a request above the profile's limit with the server's message", () => {
    const unknown = helmTemplateResult({ values: { guidelines: 'dapr-1.18' } });
    assert.equal(unknown.ok, false);
    assert.match(unknown.stderr, /guidelines: guidelines must be one of the following: "dapr-0.11", "dapr-1.13"/);
    const above = helmTemplateResult({
      values: { guidelines: 'dapr-1.13', rules: { 'sidecar-resources': { defaults: { cpuRequest: '500m' } } } },
    });
    assert.equal(above.ok, false);
    assert.match(
      above.stderr,
      /rules\.sidecar-resources\.defaults\.cpuRequest \(500m\) must not be above cpuLimit \(300m\)/,
    );
    assert.equal(
      helmTemplateResult({ values: { rules: { 'sidecar-resources': { defaults: { cpuRequest: '500m' } } } } }).ok,
      true,
    );
  });
});
