/**
 * Guideline profiles end to end: dapr-guard started with `DAPR_GUARD_GUIDELINES=dapr-1.13`, and with the
 * configuration file the chart renders for `guidelines: dapr-1.13`, writes the current page's sidecar
 * values and GOMEMLIMIT into the Deployments the API server stores (dapr-0.11, the default, is what
 * sidecar-resources.e2e.ts checks).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { helmTemplate } from '../support/helm.ts';
import { configText } from '../chart/objects.ts';
import { describeResult } from './support/kubectl.ts';
import { daprApp, deployment, pick, podTemplateAnnotations, SIDECAR_ANNOTATION_KEYS } from './support/objects.ts';
import { Scenario, SETUP_TIMEOUT_MS } from './support/scenario.ts';

const KEYS = [...SIDECAR_ANNOTATION_KEYS, 'dapr.io/env'];

/** The chart's ConfigMap config.yaml for these values, as a file (the e2e flags set address, port and TLS). */
function chartConfigFile(values: Record<string, unknown>): string {
  const path = join(mkdtempSync(join(tmpdir(), 'rules-guidelines-')), 'config.yaml');
  writeFileSync(path, configText(helmTemplate({ values })));
  return path;
}

async function storedAnnotations(
  scenario: Scenario,
  name: string,
  extra: Record<string, string>,
): Promise<Record<string, string>> {
  const namespace = scenario.namespace('app');
  const result = await scenario.kubectl.apply(deployment(name, namespace, daprApp(name, extra)));
  assert.equal(result.code, 0, describeResult('kubectl apply', result));
  const stored = await scenario.kubectl.getJson(['-n', namespace, 'get', 'deployment', name]);
  return pick(podTemplateAnnotations(stored), KEYS);
}

describe('guidelines dapr-1.13 from DAPR_GUARD_GUIDELINES', { timeout: 240_000 }, () => {
  const scenario = new Scenario({
    name: 'guide-env',
    guard: { mode: 'enforce', env: { DAPR_GUARD_GUIDELINES: 'dapr-1.13' } },
    namespaces: { app: {} },
  });
  before(() => scenario.start(), { timeout: SETUP_TIMEOUT_MS });
  after(() => scenario.stop(), { timeout: SETUP_TIMEOUT_MS });

  test(
    'the stored Deployment has limits 300m/1000Mi and GOMEMLIMIT=900MiB appended to its dapr.io/env',
    scenario.check(async () => {
      assert.deepEqual(await storedAnnotations(scenario, 'orders', { 'dapr.io/env': 'LOG_LEVEL=debug' }), {
        'dapr.io/sidecar-cpu-request': '100m',
        'dapr.io/sidecar-cpu-limit': '300m',
        'dapr.io/sidecar-memory-request': '250Mi',
        'dapr.io/sidecar-memory-limit': '1000Mi',
        'dapr.io/env': 'LOG_LEVEL=debug,GOMEMLIMIT=900MiB',
      });
      assert.deepEqual(await storedAnnotations(scenario, 'billing', { 'dapr.io/env': 'GOMEMLIMIT=512MiB' }), {
        'dapr.io/sidecar-cpu-request': '100m',
        'dapr.io/sidecar-cpu-limit': '300m',
        'dapr.io/sidecar-memory-request': '250Mi',
        'dapr.io/sidecar-memory-limit': '1000Mi',
        'dapr.io/env': 'GOMEMLIMIT=512MiB',
      });
    }),
  );
});

describe('guidelines dapr-1.13 from the chart value, with one value overridden', { timeout: 240_000 }, () => {
  const config = chartConfigFile({
    guidelines: 'dapr-1.13',
    rules: { 'sidecar-resources': { defaults: { memoryLimit: '2Gi' } } },
  });
  const scenario = new Scenario({
    name: 'guide-chart',
    // In a cluster the chart mounts its certificate (tls.generateIfMissing: false); here the server makes its own.
    guard: { mode: 'enforce', extraArgs: ['--config', config, '--tls-generate', 'true'] },
    namespaces: { app: {} },
  });
  before(() => scenario.start(), { timeout: SETUP_TIMEOUT_MS });
  after(() => scenario.stop(), { timeout: SETUP_TIMEOUT_MS });

  test(
    'the stored Deployment has the profile values, the overridden memory limit and GOMEMLIMIT at 90 % of it',
    scenario.check(async () => {
      assert.deepEqual(await storedAnnotations(scenario, 'orders', {}), {
        'dapr.io/sidecar-cpu-request': '100m',
        'dapr.io/sidecar-cpu-limit': '300m',
        'dapr.io/sidecar-memory-request': '250Mi',
        'dapr.io/sidecar-memory-limit': '2Gi',
        'dapr.io/env': 'GOMEMLIMIT=1843MiB',
      });
    }),
  );
});
