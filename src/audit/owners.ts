import type { KubeObject } from '../admission/wire.ts';
import { isRecord } from '../util/json.ts';

/** The owner reference with `controller: true`, as the API server allows at most one. */
export interface ControllerRef {
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
}

/** Kinds whose controllers create the objects they own from a template dapr-guard reviews at the owner. */
export const TEMPLATE_OWNER_KINDS: ReadonlySet<string> = new Set([
  'Deployment',
  'ReplicaSet',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
]);

/** Kinds `kubectl rollout restart` restarts. */
const RESTARTABLE_KINDS: Readonly<Record<string, string>> = {
  Deployment: 'deploy',
  StatefulSet: 'sts',
  DaemonSet: 'ds',
};

export function controllerOf(object: KubeObject): ControllerRef | undefined {
  const references = object.metadata?.['ownerReferences'];
  if (!Array.isArray(references)) return undefined;
  for (const reference of references as unknown[]) {
    if (!isRecord(reference) || reference['controller'] !== true) continue;
    const { kind, name, uid } = reference;
    if (typeof kind === 'string' && typeof name === 'string' && typeof uid === 'string') return { kind, name, uid };
  }
  return undefined;
}

/** The workload a user acts on for a Pod (or a ReplicaSet or Job): its topmost known controller. */
export interface Workload {
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
}

/**
 * Remembers the controllers of the intermediate objects (ReplicaSets, Jobs) by uid — a few strings each,
 * not the objects — so that a Pod listed later resolves to its Deployment or CronJob.
 */
export class OwnerIndex {
  private readonly owners = new Map<string, ControllerRef>();

  remember(object: KubeObject): void {
    const uid = object.metadata?.['uid'];
    const controller = controllerOf(object);
    if (typeof uid === 'string' && controller !== undefined) this.owners.set(uid, controller);
  }

  /** The topmost controller of `object` this index knows, or the object itself when it has none. */
  workloadOf(object: KubeObject, kind: string): Workload {
    const namespace = object.metadata?.namespace ?? '';
    let current: Workload = { kind, name: object.metadata?.name ?? '', namespace };
    let controller = controllerOf(object);
    // Deployment → ReplicaSet → Pod and CronJob → Job → Pod: two levels at most; the bound stops a loop.
    for (let depth = 0; controller !== undefined && depth < 4; depth += 1) {
      current = { kind: controller.kind, name: controller.name, namespace };
      controller = this.owners.get(controller.uid);
    }
    return current;
  }
}

/** `kubectl rollout restart deploy/orders -n shop`, or undefined for kinds that cannot be restarted so. */
export function rolloutRestartOf(workload: Workload): string | undefined {
  const short = RESTARTABLE_KINDS[workload.kind];
  return short === undefined ? undefined : `kubectl rollout restart ${short}/${workload.name} -n ${workload.namespace}`;
}
