import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fastJsonPatch from 'fast-json-patch';
import type { PatchOperation } from '../../src/admission/json-patch.ts';
import type { AdmissionRequest, KubeObject } from '../../src/admission/wire.ts';
import { evaluate } from '../../src/policy/evaluate.ts';
import { PRODUCTION_SIDECAR_RESOURCES, type SidecarResourceValues } from '../../src/rules/support/dapr-annotations.ts';
import { sidecarResourcesRule } from '../../src/rules/sidecar-resources.ts';
import { fixtureFiles, jsonFixture, yamlObjects } from '../support/fixtures.ts';
import { testPolicy } from '../support/policy.ts';
import { admissionRequest } from '../support/requests.ts';
import { LINEAR_BOUND_MS, MIB, timed } from '../support/timing.ts';
import { WORKLOAD_CASES, workload } from '../support/workloads.ts';

const KEYS = {
  cpuRequest: 'dapr.io~1sidecar-cpu-request',
  cpuLimit: 'dapr.io~1sidecar-cpu-limit',
  memoryRequest: 'dapr.io~1sidecar-memory-request',
  memoryLimit: 'dapr.io~1sidecar-memory-limit',
} as const;

function patchFor(
  request: AdmissionRequest,
  defaults: SidecarResourceValues = PRODUCTION_SIDECAR_RESOURCES,
): PatchOperation[] {
  return [...evaluate(request, testPolicy([sidecarResourcesRule(defaults)]), 'mutate').patch];
}

function addOps(annotationsPath: string, values: Partial<SidecarResourceValues>): PatchOperation[] {
  return (Object.keys(KEYS) as Array<keyof typeof KEYS>)
    .filter((resource) => values[resource] !== undefined)
    .map((resource) => ({ op: 'add', path: `${annotationsPath}/${KEYS[resource]}`, value: values[resource] }));
}

function applied(object: KubeObject, patch: readonly PatchOperation[]): KubeObject {
  return fastJsonPatch.applyPatch(structuredClone(object), [...patch], true, false).newDocument;
}

describe('sidecar-resources', () => {
  describe('adds the four production values to every kind that creates Pods', () => {
    for (const { kind, podMetadataPath } of WORKLOAD_CASES) {
      for (const operation of ['CREATE', 'UPDATE'] as const) {
        it(`${kind} ${operation}`, () => {
          const object = workload(kind, { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'orders' });
          const request = admissionRequest(
            object,
            operation === 'UPDATE' ? { operation, oldObject: object } : { operation },
          );
          assert.deepEqual(patchFor(request), addOps(`${podMetadataPath}/annotations`, PRODUCTION_SIDECAR_RESOURCES));
        });
      }
    }
  });

  it('escapes the "/" of the annotation keys as ~1 in patch paths', () => {
    const paths = patchFor(admissionRequest(workload('Pod', { 'dapr.io/enabled': 'true' }))).map((op) => op.path);
    assert.deepEqual(paths, [
      '/metadata/annotations/dapr.io~1sidecar-cpu-request',
      '/metadata/annotations/dapr.io~1sidecar-cpu-limit',
      '/metadata/annotations/dapr.io~1sidecar-memory-request',
      '/metadata/annotations/dapr.io~1sidecar-memory-limit',
    ]);
  });

  describe('matches dapr.io/enabled as Dapr does ("true", any case)', () => {
    const cases: ReadonlyArray<readonly [string | undefined, boolean]> = [
      ['true', true],
      ['True', true],
      ['TRUE', true],
      ['false', false],
      ['1', false],
      ['yes', false],
      ['on', false],
      ['', false],
      [' true', false],
      [undefined, false],
    ];
    for (const [value, matches] of cases) {
      it(`${value === undefined ? 'absent' : JSON.stringify(value)}: ${matches ? 'patched' : 'left alone'}`, () => {
        const annotations = value === undefined ? { 'dapr.io/app-id': 'orders' } : { 'dapr.io/enabled': value };
        const patch = patchFor(admissionRequest(workload('Deployment', annotations)));
        assert.equal(patch.length, matches ? 4 : 0);
      });
    }
  });

  describe('never overrides a value the user set', () => {
    const userValues: ReadonlyArray<readonly [keyof typeof KEYS, string]> = [
      ['cpuRequest', '250m'],
      ['cpuLimit', '2'],
      ['memoryRequest', '512Mi'],
      ['memoryLimit', '1Gi'],
      ['cpuLimit', ''],
      ['memoryRequest', ''],
      ['memoryLimit', 'not a quantity'],
    ];
    for (const [resource, value] of userValues) {
      it(`${resource} = ${JSON.stringify(value)}`, () => {
        const annotation = `dapr.io/${KEYS[resource].slice('dapr.io~1'.length)}`;
        const patch = patchFor(
          admissionRequest(workload('Deployment', { 'dapr.io/enabled': 'true', [annotation]: value })),
        );
        const { [resource]: _kept, ...others } = PRODUCTION_SIDECAR_RESOURCES;
        assert.deepEqual(patch, addOps('/spec/template/metadata/annotations', others));
      });
    }

    it('keeps all four when all are set, and then sends no patch', () => {
      const annotations = {
        'dapr.io/enabled': 'true',
        'dapr.io/sidecar-cpu-request': '10m',
        'dapr.io/sidecar-cpu-limit': '20m',
        'dapr.io/sidecar-memory-request': '10Mi',
        'dapr.io/sidecar-memory-limit': '20Mi',
      };
      assert.deepEqual(patchFor(admissionRequest(workload('StatefulSet', annotations))), []);
    });

    it('leaves a value of the wrong JSON type for the API server to refuse', () => {
      const object = workload('Deployment', { 'dapr.io/enabled': 'true', 'dapr.io/sidecar-cpu-limit': 4 });
      const { cpuLimit: _kept, ...others } = PRODUCTION_SIDECAR_RESOURCES;
      assert.deepEqual(patchFor(admissionRequest(object)), addOps('/spec/template/metadata/annotations', others));
    });
  });

  describe('keeps request ≤ limit when the user set only one of a pair', () => {
    const cases: ReadonlyArray<{ name: string; user: Record<string, string>; added: Partial<SidecarResourceValues> }> =
      [
        {
          name: 'a cpu limit below the default request becomes the request too',
          user: { 'dapr.io/sidecar-cpu-limit': '50m' },
          added: { cpuRequest: '50m', memoryRequest: '250Mi', memoryLimit: '4000Mi' },
        },
        {
          name: 'a cpu request above the default limit becomes the limit too',
          user: { 'dapr.io/sidecar-cpu-request': '8' },
          added: { cpuLimit: '8', memoryRequest: '250Mi', memoryLimit: '4000Mi' },
        },
        {
          name: 'a memory limit below the default request becomes the request too',
          user: { 'dapr.io/sidecar-memory-limit': '128Mi' },
          added: { cpuRequest: '100m', cpuLimit: '4', memoryRequest: '128Mi' },
        },
        {
          name: 'a memory request above the default limit becomes the limit too',
          user: { 'dapr.io/sidecar-memory-request': '8Gi' },
          added: { cpuRequest: '100m', cpuLimit: '4', memoryLimit: '8Gi' },
        },
        {
          name: 'a limit above the default request leaves the default request',
          user: { 'dapr.io/sidecar-cpu-limit': '1' },
          added: { cpuRequest: '100m', memoryRequest: '250Mi', memoryLimit: '4000Mi' },
        },
        {
          name: 'an invalid or negative user value does not replace a default',
          user: { 'dapr.io/sidecar-cpu-limit': '1 core', 'dapr.io/sidecar-memory-limit': '-1Mi' },
          added: { cpuRequest: '100m', memoryRequest: '250Mi' },
        },
      ];
    for (const { name, user, added } of cases) {
      it(name, () => {
        const patch = patchFor(admissionRequest(workload('Deployment', { 'dapr.io/enabled': 'true', ...user })));
        assert.deepEqual(patch, addOps('/spec/template/metadata/annotations', added));
      });
    }
  });

  describe('reads the other half of a pair in linear time and keeps the default when it is no quantity', () => {
    const digits = '9'.repeat(MIB);
    const cases: ReadonlyArray<readonly [string, string]> = [
      ['a MiB of digits then x (the ReDoS)', `${digits}x`],
      ['a MiB of digits', digits],
      ['a MiB of digits then Ki', `${digits}Ki`],
    ];
    for (const [name, value] of cases) {
      it(name, () => {
        const request = admissionRequest(
          workload('Pod', { 'dapr.io/enabled': 'true', 'dapr.io/sidecar-cpu-limit': value }),
        );
        const { result, ms } = timed(() => patchFor(request));
        assert.deepEqual(
          result,
          addOps('/metadata/annotations', { cpuRequest: '100m', memoryRequest: '250Mi', memoryLimit: '4000Mi' }),
        );
        assert.ok(ms < LINEAR_BOUND_MS, `${ms.toFixed(1)} ms`);
      });
    }
  });

  it('uses the configured defaults', () => {
    const defaults: SidecarResourceValues = {
      cpuRequest: '50m',
      cpuLimit: '1',
      memoryRequest: '64Mi',
      memoryLimit: '512Mi',
    };
    const patch = patchFor(admissionRequest(workload('Job', { 'dapr.io/enabled': 'true' })), defaults);
    assert.deepEqual(patch, addOps('/spec/template/metadata/annotations', defaults));
  });

  describe('is idempotent: the patched object needs no further patch', () => {
    for (const { kind } of WORKLOAD_CASES) {
      it(kind, () => {
        const object = workload(kind, { 'dapr.io/enabled': 'true', 'dapr.io/sidecar-memory-limit': '1000Mi' });
        const first = patchFor(admissionRequest(object));
        assert.equal(first.length, 3);
        assert.deepEqual(patchFor(admissionRequest(applied(object, first))), []);
      });
    }
  });

  describe('looks only at the pod metadata', () => {
    it('dapr.io/enabled on the Deployment itself, not its template, is not Dapr-enabled', () => {
      const object = workload('Deployment', {}, { metadata: { annotations: { 'dapr.io/enabled': 'true' } } });
      assert.deepEqual(patchFor(admissionRequest(object)), []);
    });

    it('a pod template without an annotations map cannot be Dapr-enabled and is not patched', () => {
      assert.deepEqual(patchFor(admissionRequest(workload('Deployment', undefined))), []);
    });

    it('kinds that create no Pods are left alone', () => {
      const service: KubeObject = {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'orders', namespace: 'shop', annotations: { 'dapr.io/enabled': 'true' } },
      };
      assert.deepEqual(patchFor(admissionRequest(service)), []);
    });
  });

  describe('survives malformed objects', () => {
    const shapes: ReadonlyArray<readonly [string, KubeObject]> = [
      ['no spec', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' } }],
      ['spec is a string', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: 'oops' }],
      [
        'template is null',
        { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { template: null } },
      ],
      [
        'annotations is a list',
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          spec: { template: { metadata: { annotations: ['dapr.io/enabled'] } } },
        },
      ],
      [
        'jobTemplate is a number',
        { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'x' }, spec: { jobTemplate: 3 } },
      ],
      ['Pod without metadata', { apiVersion: 'v1', kind: 'Pod' }],
    ];
    for (const [name, object] of shapes) {
      it(name, () => assert.deepEqual(patchFor(admissionRequest(object)), []));
    }
  });

  describe('recorded reviews', () => {
    it("pod-create-orders.json: keeps the user's dapr.io/sidecar-memory-limit 1000Mi and adds the other three", () => {
      const { request } = jsonFixture<{ request: AdmissionRequest }>('reviews/pod-create-orders.json');
      assert.equal(request.object?.metadata?.annotations?.['dapr.io/sidecar-memory-limit'], '1000Mi');
      assert.deepEqual(
        patchFor(request),
        addOps('/metadata/annotations', { cpuRequest: '100m', cpuLimit: '4', memoryRequest: '250Mi' }),
      );
    });

    it('deployment-create-nodeapp.json: adds all four to the pod template', () => {
      const { request } = jsonFixture<{ request: AdmissionRequest }>('reviews/deployment-create-nodeapp.json');
      assert.deepEqual(patchFor(request), addOps('/spec/template/metadata/annotations', PRODUCTION_SIDECAR_RESOURCES));
    });

    it('deployment-update-orders-dry-run.json: an UPDATE is patched like a CREATE', () => {
      const { request } = jsonFixture<{ request: AdmissionRequest }>('reviews/deployment-update-orders-dry-run.json');
      assert.deepEqual(
        patchFor(request),
        addOps('/spec/template/metadata/annotations', { cpuRequest: '100m', cpuLimit: '4', memoryRequest: '250Mi' }),
      );
    });
  });

  it('adds all four to every Dapr workload of the corpus (none sets them)', () => {
    const kinds = new Set(WORKLOAD_CASES.map((entry) => entry.kind));
    const daprWorkloads = fixtureFiles('dapr-corpus', '.yaml')
      .flatMap((file) => yamlObjects(file))
      .filter((object) => kinds.has(object.kind ?? ''))
      .filter((object) => JSON.stringify(object).includes('"dapr.io/enabled":"true"'));
    assert.equal(daprWorkloads.length, 67, 'dapr-corpus/EXPECTED.md §8 counts 67 Dapr workloads');
    for (const object of daprWorkloads) {
      assert.equal(patchFor(admissionRequest(object)).length, 4, `${object.kind} ${object.metadata?.name}`);
    }
  });
});

describe('sidecar-resources with goMemLimit (guidelines dapr-1.13): GOMEMLIMIT in dapr.io/env', () => {
  const CURRENT: SidecarResourceValues = {
    cpuRequest: '100m',
    cpuLimit: '300m',
    memoryRequest: '250Mi',
    memoryLimit: '1000Mi',
  };
  const ENV = 'dapr.io~1env';
  const path = '/spec/template/metadata/annotations';
  const patchWith = (annotations: Record<string, string>): PatchOperation[] =>
    [
      ...evaluate(
        admissionRequest(workload('Deployment', { 'dapr.io/enabled': 'true', ...annotations })),
        testPolicy([sidecarResourcesRule(CURRENT, true)]),
        'mutate',
      ).patch,
    ].filter((op) => op.path.endsWith(ENV));

  const cases: ReadonlyArray<[string, Record<string, string>, PatchOperation[]]> = [
    [
      'no dapr.io/env: added at 90 % of 1000Mi',
      {},
      [{ op: 'add', path: `${path}/${ENV}`, value: 'GOMEMLIMIT=900MiB' }],
    ],
    [
      'other entries kept, GOMEMLIMIT appended',
      { 'dapr.io/env': 'LOG_LEVEL=debug,OTEL_SERVICE_NAME=orders' },
      [{ op: 'replace', path: `${path}/${ENV}`, value: 'LOG_LEVEL=debug,OTEL_SERVICE_NAME=orders,GOMEMLIMIT=900MiB' }],
    ],
    [
      'an empty dapr.io/env',
      { 'dapr.io/env': '' },
      [{ op: 'replace', path: `${path}/${ENV}`, value: 'GOMEMLIMIT=900MiB' }],
    ],
    [
      'the user memory limit counts: 90 % of 2Gi',
      { 'dapr.io/sidecar-memory-limit': '2Gi' },
      [{ op: 'add', path: `${path}/${ENV}`, value: 'GOMEMLIMIT=1843MiB' }],
    ],
    ['a GOMEMLIMIT of the user is never overridden', { 'dapr.io/env': 'A=1, GOMEMLIMIT=700MiB' }, []],
    ['nor one from dapr.io/env-from-secret', { 'dapr.io/env-from-secret': 'GOMEMLIMIT=limits:gomemlimit' }, []],
    [
      'GOMEMLIMIT inside a value (after "=") is not a variable of its own',
      { 'dapr.io/env': 'NOTE=set GOMEMLIMIT=1' },
      [{ op: 'replace', path: `${path}/${ENV}`, value: 'NOTE=set GOMEMLIMIT=1,GOMEMLIMIT=900MiB' }],
    ],
    ['an unparsable memory limit: nothing to take 90 % of', { 'dapr.io/sidecar-memory-limit': 'lots' }, []],
  ];
  assert.equal(cases.length, 8);
  for (const [name, annotations, expected] of cases) {
    it(name, () => assert.deepEqual(patchWith(annotations), expected));
  }

  it('is idempotent, and the patch applied gives the annotation Dapr reads', () => {
    const object = workload('Deployment', { 'dapr.io/enabled': 'true', 'dapr.io/env': 'A=1' });
    const rule = sidecarResourcesRule(CURRENT, true);
    const first = [...evaluate(admissionRequest(object), testPolicy([rule]), 'mutate').patch];
    assert.equal(first.length, 5);
    const patched = applied(object, first);
    assert.equal(
      (patched['spec'] as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata
        .annotations['dapr.io/env'],
      'A=1,GOMEMLIMIT=900MiB',
    );
    assert.deepEqual([...evaluate(admissionRequest(patched), testPolicy([rule]), 'mutate').patch], []);
  });
});
