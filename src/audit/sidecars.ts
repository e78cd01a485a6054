import type { KubeObject } from '../admission/wire.ts';
import type { SidecarResourceValues } from '../rules/support/dapr-annotations.ts';
import { isRecord } from '../util/json.ts';
import type { ControlPlaneVersion } from './control-plane.ts';
import { checkFinding, type AuditFinding, type ObjectRef } from './model.ts';
import { rolloutRestartOf, type OwnerIndex, type Workload } from './owners.ts';
import { daprdOf, imageVersionOf, type ContainerView } from './pod-spec.ts';

export const STALE_SIDECAR_RULE_ID = 'stale-sidecar';
export const RUNNING_SIDECAR_RESOURCES_RULE_ID = 'running-sidecar-resources';

/** The four values the production guidelines set on daprd, as paths in `resources`. */
const RESOURCE_FIELDS = [
  ['requests', 'cpu', 'cpuRequest'],
  ['requests', 'memory', 'memoryRequest'],
  ['limits', 'cpu', 'cpuLimit'],
  ['limits', 'memory', 'memoryLimit'],
] as const;

interface WorkloadSidecars {
  readonly workload: Workload;
  pods: number;
  /** daprd image → how many Pods run it. */
  readonly images: Map<string, number>;
  /** `requests.cpu`, … missing on at least one Pod. */
  readonly missing: Set<string>;
}

/** The daprd sidecars of the Pods, grouped by the workload that owns them: a few strings per workload. */
export class SidecarObserver {
  private readonly workloads = new Map<string, WorkloadSidecars>();

  observePod(pod: KubeObject, owners: OwnerIndex): void {
    const daprd = daprdOf(pod['spec']);
    if (daprd === undefined) return;
    const workload = owners.workloadOf(pod, 'Pod');
    const key = `${workload.namespace}/${workload.kind}/${workload.name}`;
    let entry = this.workloads.get(key);
    if (entry === undefined) {
      entry = { workload, pods: 0, images: new Map(), missing: new Set() };
      this.workloads.set(key, entry);
    }
    entry.pods += 1;
    entry.images.set(daprd.image, (entry.images.get(daprd.image) ?? 0) + 1);
    for (const field of missingResourcesOf(daprd)) entry.missing.add(field);
  }

  /** One finding per workload whose Pods run a daprd of another version than the control plane's. */
  staleFindings(controlPlane: ControlPlaneVersion | undefined): AuditFinding[] {
    const expected = expectedVersionOf(controlPlane);
    if (controlPlane === undefined || expected === undefined) return [];
    return [...this.workloads.values()].flatMap((entry) => {
      const stale = [...entry.images].filter(([image]) => imageVersionOf(image) !== expected);
      if (stale.length === 0) return [];
      const pods = stale.reduce((sum, [, count]) => sum + count, 0);
      const images = stale.map(([image]) => JSON.stringify(image)).join(', ');
      const restart = rolloutRestartOf(entry.workload);
      const fix =
        restart ?? `delete and re-create the ${podsWord(pods)} so that Dapr's injector adds the current daprd`;
      return [
        checkFinding({
          ruleId: STALE_SIDECAR_RULE_ID,
          severity: 'warning',
          object: workloadRef(entry.workload),
          message:
            `${pods} of ${podsWord(entry.pods)} of ${describeWorkload(entry.workload)} run daprd ${images}, ` +
            `not ${JSON.stringify(expected)} of the control plane (${controlPlane.source}) — ${fix}`,
          ...(restart === undefined ? {} : { remedy: restart }),
        }),
      ];
    });
  }

  /** One finding per workload whose running daprd lacks a production request or limit. */
  resourceFindings(defaults: SidecarResourceValues): AuditFinding[] {
    return [...this.workloads.values()].flatMap((entry) => {
      if (entry.missing.size === 0) return [];
      const missing = RESOURCE_FIELDS.filter(([section, name]) => entry.missing.has(`${section}.${name}`));
      const annotations = missing.map(([, , value]) => `${annotationOf(value)}: ${JSON.stringify(defaults[value])}`);
      const restart = rolloutRestartOf(entry.workload);
      return [
        checkFinding({
          ruleId: RUNNING_SIDECAR_RESOURCES_RULE_ID,
          severity: 'warning',
          object: workloadRef(entry.workload),
          message:
            `the daprd sidecar of ${describeWorkload(entry.workload)} runs without ` +
            `${missing.map(([section, name]) => `${section}.${name}`).join(', ')} — set ${annotations.join(', ')} ` +
            `on the pod template and restart it${restart === undefined ? '' : ` (${restart})`}`,
          ...(restart === undefined ? {} : { remedy: restart }),
        }),
      ];
    });
  }
}

function missingResourcesOf(daprd: ContainerView): string[] {
  return RESOURCE_FIELDS.flatMap(([section, name]) => {
    const values = daprd.resources[section];
    const value = isRecord(values) ? values[name] : undefined;
    return value === undefined || value === '' ? [`${section}.${name}`] : [];
  });
}

const ANNOTATIONS: Readonly<Record<(typeof RESOURCE_FIELDS)[number][2], string>> = {
  cpuRequest: 'dapr.io/sidecar-cpu-request',
  memoryRequest: 'dapr.io/sidecar-memory-request',
  cpuLimit: 'dapr.io/sidecar-cpu-limit',
  memoryLimit: 'dapr.io/sidecar-memory-limit',
};

function annotationOf(value: (typeof RESOURCE_FIELDS)[number][2]): string {
  return ANNOTATIONS[value];
}

function expectedVersionOf(controlPlane: ControlPlaneVersion | undefined): string | undefined {
  const image = controlPlane?.sidecarImage ?? controlPlane?.operatorImage;
  return image === undefined ? undefined : imageVersionOf(image);
}

const API_VERSIONS: Readonly<Record<string, string>> = {
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  ReplicaSet: 'apps/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
  Pod: 'v1',
};

function workloadRef(workload: Workload): ObjectRef {
  return {
    apiVersion: API_VERSIONS[workload.kind] ?? 'v1',
    kind: workload.kind,
    namespace: workload.namespace,
    name: workload.name,
  };
}

function describeWorkload(workload: Workload): string {
  return `${workload.kind} ${workload.namespace}/${workload.name}`;
}

function podsWord(count: number): string {
  return count === 1 ? '1 Pod' : `${count} Pods`;
}
