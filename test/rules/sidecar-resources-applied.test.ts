import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../src/admission/wire.ts';
import { MAX_WARNING_LENGTH } from '../../src/admission/wire.ts';
import { formatMessage } from '../../src/policy/decide.ts';
import { evaluate } from '../../src/policy/evaluate.ts';
import {
  SIDECAR_RESOURCES_APPLIED_RULE_ID,
  sidecarResourcesAppliedRule,
} from '../../src/rules/sidecar-resources-applied.ts';
import { jsonFixture } from '../support/fixtures.ts';
import { testPolicy } from '../support/policy.ts';
import { admissionRequest, type RequestOptions } from '../support/requests.ts';

const rule = sidecarResourcesAppliedRule();

/** Pods as Dapr 1.18.3's injector left them (recorded from dapr-injector.e2e.ts, see test/fixtures/README.md). */
const recorded = (name: string): KubeObject => jsonFixture<KubeObject>(`injected-pods/${name}.json`);

interface Container {
  name: string;
  resources?: Record<string, Record<string, string>>;
  restartPolicy?: string;
}

interface PodShape {
  metadata: { name?: string; generateName?: string; annotations: Record<string, string> };
  spec: { containers: Container[]; initContainers?: Container[] };
}

/** A recorded Pod, changed by `edit` (on a fresh copy). */
function changed(name: string, edit: (pod: PodShape) => void): KubeObject {
  const pod = recorded(name);
  edit(pod as unknown as PodShape);
  return pod;
}

function daprdOf(pod: PodShape): Container {
  const daprd = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].find((c) => c.name === 'daprd');
  assert.ok(daprd !== undefined, 'the recorded Pod has daprd');
  return daprd;
}

function messages(object: KubeObject, options: RequestOptions = {}): string[] {
  return evaluate(admissionRequest(object, options), testPolicy([rule]), 'validate').violations.map((violation) => {
    assert.equal(violation.mode, 'warn');
    assert.ok(formatMessage(violation).length <= MAX_WARNING_LENGTH, formatMessage(violation));
    return violation.message;
  });
}

const LATE = 'set after dapr-sidecar-injector ran — set them in the pod template and recreate the Pod';
const UNPARSABLE = 'the injector drops all four when one does not parse — fix it and recreate the Pod';
const ASKED = 'its dapr.io/sidecar-* annotations ask for';

describe(SIDECAR_RESOURCES_APPLIED_RULE_ID, () => {
  it('is a validating rule that warns by default', () => {
    assert.equal(rule.type, 'validating');
    assert.equal(rule.defaultMode, 'warn');
  });

  it('the recorded Pods are what the injector made: daprd a container, or a native sidecar', () => {
    const shapes = ['pod-containers', 'pod-native-sidecar'].map((name) => recorded(name) as unknown as PodShape);
    assert.equal(shapes.length, 2);
    assert.deepEqual(
      shapes.map((pod) => [pod.spec.containers.map((c) => c.name), (pod.spec.initContainers ?? []).map((c) => c.name)]),
      [
        [['app', 'daprd'], []],
        [['app'], ['daprd']],
      ],
    );
    assert.equal(daprdOf(shapes[1] as PodShape).restartPolicy, 'Always');
  });

  describe('reports a daprd without what its annotations ask for', () => {
    const cases: ReadonlyArray<{ name: string; object: () => KubeObject; expected: string[] }> = [
      {
        name: 'recorded: an unparsable cpu limit, so the injector dropped all four (container)',
        object: () => recorded('pod-containers-unparsable'),
        expected: [
          `Pod "${podName('pod-containers-unparsable')}": daprd lacks the cpu/memory requests and limits ${ASKED}: ${UNPARSABLE}`,
        ],
      },
      {
        name: 'recorded: the same with a native sidecar',
        object: () => recorded('pod-native-sidecar-unparsable'),
        expected: [
          `Pod "${podName('pod-native-sidecar-unparsable')}": daprd native sidecar lacks the cpu/memory requests and limits ${ASKED}: ${UNPARSABLE}`,
        ],
      },
      {
        name: 'annotations changed after the injector ran: one limit differs',
        object: () =>
          changed('pod-containers', (pod) => {
            pod.metadata.annotations['dapr.io/sidecar-memory-limit'] = '2Gi';
          }),
        expected: [`Pod "${podName('pod-containers')}": daprd lacks the memory limit ${ASKED}: ${LATE}`],
      },
      {
        name: 'resources removed from the native sidecar (all four)',
        object: () =>
          changed('pod-native-sidecar', (pod) => {
            delete daprdOf(pod).resources;
          }),
        expected: [
          `Pod "${podName('pod-native-sidecar')}": daprd native sidecar lacks the cpu/memory requests and limits ${ASKED}: ${LATE}`,
        ],
      },
      {
        name: 'two of four differ',
        object: () =>
          changed('pod-containers', (pod) => {
            pod.metadata.annotations['dapr.io/sidecar-cpu-request'] = '200m';
            pod.metadata.annotations['dapr.io/sidecar-memory-request'] = '300Mi';
          }),
        expected: [`Pod "${podName('pod-containers')}": daprd lacks the cpu request, memory request ${ASKED}: ${LATE}`],
      },
      {
        name: 'a long generated name is shortened to fit a warning',
        object: () =>
          changed('pod-native-sidecar', (pod) => {
            pod.metadata.name = 'n'.repeat(253);
            delete daprdOf(pod).resources;
          }),
        expected: [
          `Pod "${'n'.repeat(23)}…": daprd native sidecar lacks the cpu/memory requests and limits ${ASKED}: ${LATE}`,
        ],
      },
    ];
    assert.equal(cases.length, 6);
    for (const { name, object, expected } of cases) {
      it(name, () => assert.deepEqual(messages(object()), expected));
    }
  });

  describe('passes', () => {
    const cases: ReadonlyArray<{ name: string; object: () => KubeObject; options?: RequestOptions }> = [
      { name: 'recorded: daprd with the four values (container)', object: () => recorded('pod-containers') },
      { name: 'recorded: daprd with the four values (native sidecar)', object: () => recorded('pod-native-sidecar') },
      {
        name: 'the same quantity written differently (0.1 for 100m, 4096000Ki for 4000Mi)',
        object: () =>
          changed('pod-containers', (pod) => {
            pod.metadata.annotations['dapr.io/sidecar-cpu-request'] = '0.1';
            pod.metadata.annotations['dapr.io/sidecar-memory-limit'] = '4096000Ki';
          }),
      },
      {
        name: 'an annotation that is absent or empty asks for nothing',
        object: () =>
          changed('pod-containers', (pod) => {
            delete pod.metadata.annotations['dapr.io/sidecar-cpu-limit'];
            pod.metadata.annotations['dapr.io/sidecar-memory-limit'] = '';
            delete daprdOf(pod).resources?.['limits'];
          }),
      },
      {
        name: 'a Pod without daprd (not injected)',
        object: () =>
          changed('pod-containers', (pod) => {
            pod.spec.containers = pod.spec.containers.filter((c) => c.name !== 'daprd');
          }),
      },
      {
        name: 'a daprd init container that is no native sidecar (no restartPolicy Always)',
        object: () =>
          changed('pod-native-sidecar', (pod) => {
            const daprd = daprdOf(pod);
            delete daprd.restartPolicy;
            delete daprd.resources;
          }),
      },
      {
        name: 'UPDATE: the injector acts on CREATE only',
        object: () => recorded('pod-containers-unparsable'),
        options: { operation: 'UPDATE', oldObject: recorded('pod-containers-unparsable') },
      },
      {
        name: 'a Deployment (its Pods are checked when they are created)',
        object: () => ({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'orders', namespace: 'shop' },
          spec: { template: recorded('pod-containers-unparsable') },
        }),
      },
    ];
    assert.equal(cases.length, 8);
    for (const { name, object, options } of cases) {
      it(name, () => assert.deepEqual(messages(object(), options), []));
    }
  });
});

function podName(fixture: string): string {
  const metadata = (recorded(fixture) as unknown as PodShape).metadata;
  return metadata.name ?? '';
}
