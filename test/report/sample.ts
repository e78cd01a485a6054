import type { Report } from '../../src/report/model.ts';

/**
 * A report as `dapr-guard check` writes it for two files and an unreadable one, plus an object from a
 * cluster as `dapr-guard audit` would add it; messages are the rules' own.
 */
export const SAMPLE_REPORT: Report = {
  tool: { name: 'dapr-guard', version: '0.1.0' },
  command: 'check',
  rules: [
    {
      id: 'sidecar-resources',
      type: 'mutating',
      description: 'Adds sidecar resource annotations.',
      defaultMode: 'enforce',
      helpUri: 'https://github.com/dapr-guard/dapr-guard/blob/main/docs/rules/sidecar-resources.md',
    },
    {
      id: 'component-plaintext-secrets',
      type: 'validating',
      description: 'Refuses plaintext secrets in Components.',
      defaultMode: 'enforce',
      helpUri: 'https://github.com/dapr-guard/dapr-guard/blob/main/docs/rules/component-plaintext-secrets.md',
    },
  ],
  objects: [
    {
      location: { type: 'file', path: 'deploy/app.yaml', line: 1, document: 0 },
      object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'nodeapp' },
      rulesApplied: ['sidecar-resources', 'component-plaintext-secrets'],
      findings: [
        {
          kind: 'mutation',
          ruleId: 'sidecar-resources',
          mode: 'enforce',
          message: 'would add dapr.io/sidecar-cpu-limit=4',
          patch: [{ op: 'add', path: '/spec/template/metadata/annotations/dapr.io~1sidecar-cpu-limit', value: '4' }],
        },
      ],
    },
    {
      location: { type: 'file', path: 'deploy/app.yaml', line: 24, document: 1 },
      object: { apiVersion: 'dapr.io/v1alpha1', kind: 'Component', namespace: 'default', name: 'statestore' },
      rulesApplied: ['sidecar-resources', 'component-plaintext-secrets'],
      findings: [
        {
          kind: 'violation',
          ruleId: 'component-plaintext-secrets',
          mode: 'enforce',
          message: 'Component "statestore": spec.metadata redisPassword is a plaintext secret — use secretKeyRef',
        },
        {
          kind: 'violation',
          ruleId: 'component-plaintext-secrets',
          mode: 'warn',
          message: 'Component "statestore": spec.metadata redisUsername is empty — remove it',
        },
      ],
    },
    {
      location: { type: 'file', path: 'other.yaml', line: 1, document: 0, item: 0 },
      object: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'settings' },
      rulesApplied: ['sidecar-resources', 'component-plaintext-secrets'],
      findings: [],
    },
    {
      location: { type: 'cluster', cluster: 'prod' },
      object: { apiVersion: 'dapr.io/v1alpha1', kind: 'Configuration', namespace: 'shop', name: 'tracing' },
      rulesApplied: ['component-plaintext-secrets'],
      findings: [
        {
          kind: 'violation',
          ruleId: 'component-plaintext-secrets',
          mode: 'audit',
          message: 'Configuration "tracing": x',
        },
      ],
    },
  ],
  problems: [
    {
      source: 'broken.yaml',
      line: 3,
      column: 5,
      message: 'YAML syntax error: Implicit keys need to be on a single line',
    },
  ],
  skipped: { notObjects: 2, unreviewedKinds: 1 },
  sources: ['deploy/app.yaml', 'other.yaml', 'broken.yaml', 'prod'],
};
