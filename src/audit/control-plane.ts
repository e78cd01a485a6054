import type { KubeObject } from '../admission/wire.ts';
import { controllerOf } from './owners.ts';
import { podSpecOf, runningContainersOf } from './pod-spec.ts';

/**
 * What the data plane should run: the sidecar image Dapr's injector is configured with (its
 * `SIDECAR_IMAGE`, from the chart's `global.registry`/`global.tag`), else the Operator's image version.
 */
export interface ControlPlaneVersion {
  /** The image (`ghcr.io/dapr/daprd:1.18.3`) or, from the Operator, the version only. */
  readonly sidecarImage: string | undefined;
  readonly operatorImage: string | undefined;
  /** `Deployment dapr-system/dapr-sidecar-injector`: where it was read, for messages. */
  readonly source: string;
  /** The control plane's namespace: where `dapr-trust-bundle` is. */
  readonly namespace: string;
}

const INJECTOR = 'dapr-sidecar-injector';
const OPERATOR = 'dapr-operator';
const SIDECAR_IMAGE_ENV = 'SIDECAR_IMAGE';

interface Sighting {
  readonly priority: number;
  readonly version: ControlPlaneVersion;
}

/**
 * Watches the listed Deployments and Pods for Dapr's injector and Operator (by the `app` label the chart
 * hard-codes). A Deployment wins over a Pod (it is the configuration; its Pods may not be rolled yet).
 */
export class ControlPlaneObserver {
  private best: Sighting | undefined;

  observe(object: KubeObject, kind: string): void {
    const app = controlPlaneAppOf(object, kind);
    const version = app === undefined ? undefined : versionOf(object, kind, app);
    if (version === undefined) return;
    const priority = (kind === 'Deployment' ? 2 : 0) + (version.sidecarImage === undefined ? 0 : 4);
    if (this.best === undefined || priority > this.best.priority) this.best = { priority, version };
  }

  version(): ControlPlaneVersion | undefined {
    return this.best?.version;
  }
}

/** `dapr-sidecar-injector` or `dapr-operator` for their Deployment, or a Pod of theirs no listed controller owns. */
function controlPlaneAppOf(object: KubeObject, kind: string): string | undefined {
  if (kind !== 'Deployment' && kind !== 'Pod') return undefined;
  const app = object.metadata?.labels?.['app'];
  if (app !== INJECTOR && app !== OPERATOR) return undefined;
  // A Pod of a listed Deployment says nothing the Deployment does not.
  return kind === 'Pod' && controllerOf(object) !== undefined ? undefined : app;
}

function versionOf(object: KubeObject, kind: string, app: string): ControlPlaneVersion | undefined {
  const containers = runningContainersOf(podSpecOf(object, kind));
  const namespace = object.metadata?.namespace ?? '';
  const sidecarImage =
    app === INJECTOR ? containers.map((container) => container.env[SIDECAR_IMAGE_ENV]).find(Boolean) : undefined;
  const operatorImage = app === OPERATOR ? containers[0]?.image : undefined;
  if (sidecarImage === undefined && operatorImage === undefined) return undefined;
  return { sidecarImage, operatorImage, source: `${kind} ${namespace}/${object.metadata?.name ?? ''}`, namespace };
}
