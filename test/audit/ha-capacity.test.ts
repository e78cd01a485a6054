import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../../src/admission/wire.ts';
import { HaObserver } from '../../src/audit/ha-capacity.ts';
import { OwnerIndex } from '../../src/audit/owners.ts';
import { yamlObjects } from '../support/fixtures.ts';

function node(name: string, extra: { os?: string; unschedulable?: boolean; taint?: string } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/os': extra.os ?? 'linux' } },
    spec: {
      ...(extra.unschedulable === true ? { unschedulable: true } : {}),
      ...(extra.taint === undefined
        ? {}
        : { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: extra.taint }] }),
    },
  };
}

/** The HA rendering of the Dapr chart: three replicas of each control-plane workload. */
const HA_CHART = yamlObjects('dapr-manifests/rendered/dapr-system-ha.yaml');

function sentryPod(index: number, nodeName: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `dapr-sentry-5d8f-${index}`,
      namespace: 'dapr-system',
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'dapr-sentry-5d8f', uid: 'rs-uid', controller: true },
      ],
    },
    spec: { nodeName, containers: [{ name: 'dapr-sentry', image: 'ghcr.io/dapr/sentry:edge' }] },
  };
}

describe('HaObserver', () => {
  test('fewer than three schedulable Linux nodes under the HA Dapr chart: one cluster finding', () => {
    const ha = new HaObserver();
    const nodes = [
      node('a'),
      node('c', { os: 'windows' }),
      node('d', { unschedulable: true }),
      node('e', { taint: 'NoSchedule' }),
      node('f', { taint: 'PreferNoSchedule' }),
    ];
    for (const object of nodes) ha.observeNode(object);
    const workloads = HA_CHART.filter((object) => object.kind === 'Deployment' || object.kind === 'StatefulSet');
    assert.equal(workloads.length, 5);
    for (const workload of workloads) ha.observeWorkload(workload, workload.kind ?? '');
    assert.deepEqual(ha.findings(), [
      {
        ruleId: 'ha-capacity',
        kind: 'violation',
        mode: 'warn',
        severity: 'warning',
        message:
          'the cluster has 2 schedulable Linux node(s): the Dapr control plane in HA mode needs 3, one per replica — add worker nodes (kubernetes.io/os=linux, without NoSchedule taints)',
        object: { apiVersion: 'v1', kind: 'Namespace', name: 'dapr-system' },
      },
    ]);
  });

  test('three nodes, one with NoExecute: the finding', () => {
    const ha = new HaObserver();
    ha.observeNode(node('a'));
    ha.observeNode(node('b', { taint: 'NoExecute' }));
    ha.observeNode(node('c'));
    const sentry = HA_CHART.find((object) => object.kind === 'Deployment' && object.metadata?.name === 'dapr-sentry');
    assert.ok(sentry !== undefined);
    ha.observeWorkload(sentry, 'Deployment');
    assert.deepEqual(
      ha.findings().map((finding) => finding.message),
      [
        'the cluster has 2 schedulable Linux node(s): the Dapr control plane in HA mode needs 3, one per replica — add worker nodes (kubernetes.io/os=linux, without NoSchedule taints)',
      ],
    );
  });

  test('HA replicas on one node: the workload is named with where its Pods run', () => {
    const ha = new HaObserver();
    for (const name of ['a', 'b', 'c']) ha.observeNode(node(name));
    const sentry = HA_CHART.find((object) => object.kind === 'Deployment' && object.metadata?.name === 'dapr-sentry');
    assert.ok(sentry !== undefined);
    ha.observeWorkload(sentry, 'Deployment');
    const owners = new OwnerIndex();
    owners.remember({
      metadata: {
        uid: 'rs-uid',
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'Deployment', name: 'dapr-sentry', uid: 'd-uid', controller: true },
        ],
      },
    });
    for (const [index, nodeName] of ['a', 'a', 'b'].entries()) ha.observePod(sentryPod(index, nodeName), owners);
    assert.deepEqual(ha.findings(), [
      {
        ruleId: 'ha-capacity',
        kind: 'violation',
        mode: 'warn',
        severity: 'warning',
        object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'dapr-system', name: 'dapr-sentry' },
        message:
          'the 3 replicas of Deployment dapr-system/dapr-sentry are not spread across nodes (2 on node "a"): one node failure stops several — give it a pod anti-affinity or topology spread on kubernetes.io/hostname, and enough nodes',
      },
    ]);
  });

  test('no Dapr control plane listed: no node finding', () => {
    const ha = new HaObserver();
    ha.observeNode(node('a'));
    assert.deepEqual(ha.findings(), []);
  });
});
