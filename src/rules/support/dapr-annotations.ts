import type { Guidelines } from './guidelines.ts';

export const DAPR_ENABLED_ANNOTATION = 'dapr.io/enabled';

/** Dapr's injector (release-1.17 on) injects only when `dapr.io/enabled` equals "true", ignoring case. */
export function isDaprEnabled(annotations: Readonly<Record<string, string>>): boolean {
  return annotations[DAPR_ENABLED_ANNOTATION]?.toLowerCase() === 'true';
}

/** The four sidecar resource annotations, by the resource setting they control. */
export const SIDECAR_RESOURCE_ANNOTATIONS = {
  cpuRequest: 'dapr.io/sidecar-cpu-request',
  cpuLimit: 'dapr.io/sidecar-cpu-limit',
  memoryRequest: 'dapr.io/sidecar-memory-request',
  memoryLimit: 'dapr.io/sidecar-memory-limit',
} as const;

export type SidecarResource = keyof typeof SIDECAR_RESOURCE_ANNOTATIONS;

export type SidecarResourceValues = Readonly<Record<SidecarResource, string>>;

/** The Dapr production guidelines' sidecar resources (the default guidelines, dapr-0.11). */
export const PRODUCTION_SIDECAR_RESOURCES: SidecarResourceValues = {
  cpuRequest: '100m',
  cpuLimit: '4',
  memoryRequest: '250Mi',
  memoryLimit: '4000Mi',
};

/** The sidecar resources of each edition of the guidelines (support/guidelines.ts). */
export const SIDECAR_RESOURCES_BY_GUIDELINES: Readonly<Record<Guidelines, SidecarResourceValues>> = {
  'dapr-0.11': PRODUCTION_SIDECAR_RESOURCES,
  'dapr-1.13': { cpuRequest: '100m', cpuLimit: '300m', memoryRequest: '250Mi', memoryLimit: '1000Mi' },
};

/** Extra environment variables of the daprd container: `KEY=value` pairs, comma-separated. */
export const DAPR_ENV_ANNOTATION = 'dapr.io/env';

/** Environment variables of daprd from Secrets: `KEY=secretName[:key]`, comma-separated. */
export const DAPR_ENV_FROM_SECRET_ANNOTATION = 'dapr.io/env-from-secret';

/** The request and limit of each sidecar resource: Kubernetes requires request ≤ limit. */
export interface SidecarResourcePair {
  readonly resource: 'cpu' | 'memory';
  readonly request: SidecarResource;
  readonly limit: SidecarResource;
}

export const SIDECAR_RESOURCE_PAIRS: readonly SidecarResourcePair[] = [
  { resource: 'cpu', request: 'cpuRequest', limit: 'cpuLimit' },
  { resource: 'memory', request: 'memoryRequest', limit: 'memoryLimit' },
];

export const DAPR_API_TOKEN_SECRET_ANNOTATION = 'dapr.io/api-token-secret';
