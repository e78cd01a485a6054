import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AuditResult } from '../../src/audit/model.ts';
import { reportsOf } from '../../src/audit/reports.ts';

const NOW = new Date('2026-12-02T06:00:00Z');
const RESULT: AuditResult = {
  findings: [
    {
      ruleId: 'component-plaintext-secrets',
      kind: 'violation',
      mode: 'enforce',
      severity: 'error',
      object: { apiVersion: 'dapr.io/v1alpha1', kind: 'Component', namespace: 'shop', name: 'cache', uid: 'u1' },
      message: 'Component "cache": spec.metadata redisPassword is a plaintext secret — use secretKeyRef',
    },
    {
      ruleId: 'trust-bundle-expiry',
      kind: 'violation',
      mode: 'warn',
      severity: 'warning',
      object: { apiVersion: 'v1', kind: 'Secret', namespace: 'dapr-system', name: 'dapr-trust-bundle' },
      message: 'the root certificate expires in 9 days — run dapr mtls renew-certificate',
      remedy: 'dapr mtls renew-certificate -k --valid-until 365 --restart',
    },
  ],
  notes: [],
  problems: [],
  objects: [],
  listed: {},
  reviewed: { shop: 3, quiet: 2 },
};

describe('reportsOf', () => {
  test('cluster-wide: a Report per reviewed namespace (one without findings too), the Secret namespace, the ClusterReport', () => {
    const { reports } = reportsOf(RESULT, 'openreports.io/v1alpha1', NOW, undefined);
    assert.deepEqual([...reports.keys()].sort(), ['', 'dapr-system', 'quiet', 'shop']);
    assert.deepEqual(reports.get('shop'), {
      apiVersion: 'openreports.io/v1alpha1',
      kind: 'Report',
      metadata: { name: 'dapr-guard', namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'dapr-guard' } },
      source: 'dapr-guard',
      summary: { pass: 2, fail: 1, warn: 0, error: 0, skip: 0 },
      results: [
        {
          source: 'dapr-guard',
          policy: 'component-plaintext-secrets',
          rule: 'component-plaintext-secrets',
          category: 'Dapr production guidelines',
          result: 'fail',
          severity: 'high',
          scored: true,
          message: 'Component "cache": spec.metadata redisPassword is a plaintext secret — use secretKeyRef',
          timestamp: { seconds: 1796191200, nanos: 0 },
          resources: [
            { apiVersion: 'dapr.io/v1alpha1', kind: 'Component', name: 'cache', namespace: 'shop', uid: 'u1' },
          ],
        },
      ],
    });
    assert.deepEqual(reports.get('quiet')?.['summary'], { pass: 2, fail: 0, warn: 0, error: 0, skip: 0 });
    assert.equal(reports.get('')?.kind, 'ClusterReport');
  });

  test('--namespace: that namespace only, never a report outside what was audited', () => {
    const { reports } = reportsOf(RESULT, 'wgpolicyk8s.io/v1alpha2', NOW, 'shop');
    assert.deepEqual([...reports.keys()], ['shop']);
    const report = reports.get('shop');
    assert.equal(report?.kind, 'PolicyReport');
    assert.equal(report?.apiVersion, 'wgpolicyk8s.io/v1alpha2');
    assert.equal('source' in (report ?? {}), false, 'v1alpha2 has no report-level source');
  });
});
