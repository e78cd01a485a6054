import type { Finding, RuleContext, ValidatingRule } from './rule.ts';
import { asArray, asRecord, asString, recordAt } from './support/json.ts';
import { controlPlaneServiceOf, isDashboardDeployment, type ControlPlaneService } from './support/control-plane.ts';
import { describeObject, quoted } from './support/objects.ts';
import { DEFAULT_GUIDELINES, type Guidelines } from './support/guidelines.ts';
import { compareQuantities, parseQuantity } from './support/quantity.ts';

export const CONTROL_PLANE_RESOURCES_RULE_ID = 'control-plane-resources';

/** Replicas the production guidelines ask for (`global.ha.enabled=true` renders 3). */
const HA_REPLICAS = 3;

type Setting = 'cpu request' | 'cpu limit' | 'memory request' | 'memory limit';

/** The settings a table recommends; one without `memory limit` asks for none (dapr-1.13). */
type Recommendation = Readonly<Partial<Record<Setting, string>>>;

function recommendation(
  cpuRequest: string,
  cpuLimit: string,
  memoryRequest: string,
  memoryLimit?: string,
): Recommendation {
  return {
    'cpu request': cpuRequest,
    'cpu limit': cpuLimit,
    'memory request': memoryRequest,
    ...(memoryLimit === undefined ? {} : { 'memory limit': memoryLimit }),
  };
}

type Table = Readonly<Partial<Record<ControlPlaneService | 'dashboard', Recommendation>>>;

const SYSTEM_SERVICE = recommendation('100m', '1', '20Mi', '200Mi');

/**
 * Each edition's table; the scheduler has no entry in either. dapr-1.13: "it is recommended to not add
 * memory limits to the Dapr control plane components to avoid OOMKilled", and no Dashboard row.
 */
const RECOMMENDED: Readonly<Record<Guidelines, Table>> = {
  'dapr-0.11': {
    operator: SYSTEM_SERVICE,
    injector: SYSTEM_SERVICE,
    sentry: SYSTEM_SERVICE,
    placement: recommendation('250m', '1', '100Mi', '500Mi'),
    dashboard: recommendation('50m', '200m', '20Mi', '200Mi'),
  },
  'dapr-1.13': {
    operator: recommendation('100m', '1', '100Mi'),
    injector: recommendation('100m', '1', '30Mi'),
    sentry: recommendation('100m', '1', '30Mi'),
    placement: recommendation('250m', '1', '75Mi'),
  },
};

/** The services that run with 3 replicas in HA mode; the scheduler always runs 3 (reported on its own). */
const HA_SERVICES: ReadonlySet<string> = new Set<ControlPlaneService>(['operator', 'injector', 'sentry', 'placement']);

const SETTINGS: ReadonlyArray<readonly [Setting, 'requests' | 'limits', 'cpu' | 'memory']> = [
  ['cpu request', 'requests', 'cpu'],
  ['cpu limit', 'limits', 'cpu'],
  ['memory request', 'requests', 'memory'],
  ['memory limit', 'limits', 'memory'],
];

/** Recommends the production resources and replica counts for the Dapr control plane, wherever it runs. */
export function controlPlaneResourcesRule(guidelines: Guidelines = DEFAULT_GUIDELINES): ValidatingRule {
  return {
    id: CONTROL_PLANE_RESOURCES_RULE_ID,
    type: 'validating',
    description:
      'Recommends the production cpu/memory requests and limits, 3 replicas (HA; Scheduler always 3) and spread Placement/Scheduler replicas for the Dapr control plane; notes the deprecated Dashboard.',
    defaultMode: 'warn',
    kinds: ['Deployment', 'StatefulSet'],
    validate: (context) => findUnderProvisioned(context, RECOMMENDED[guidelines]),
  };
}

function findUnderProvisioned(context: RuleContext, table: Table): Finding[] {
  const kind = context.request.kind;
  if (kind.group !== 'apps' || (kind.kind !== 'Deployment' && kind.kind !== 'StatefulSet')) return [];
  const service = isDashboardDeployment(context.object, kind)
    ? 'dashboard'
    : controlPlaneServiceOf(context.object, kind);
  if (service === undefined) return [];
  const workload = describeObject(kind.kind, context.object);
  return [
    ...(service === 'dashboard' ? [dashboardNote(workload)] : []),
    ...replicaFindings(service, workload, context.object),
    ...spreadFindings(service, workload, context.object),
    ...resourceFindings(table[service], workload, context.object),
  ];
}

/** Dapr 1.18 deprecated the Dashboard and archived dapr/dashboard: advice, never a refusal. */
function dashboardNote(workload: string): Finding {
  return {
    message: `${workload}: the Dapr Dashboard is deprecated since Dapr 1.18 (dapr/dashboard is archived) — note only: plan its removal`,
    maxMode: 'warn',
  };
}

function replicasOf(object: unknown): unknown {
  return asRecord(asRecord(object)?.['spec'])?.['replicas'] ?? 1;
}

function replicaFindings(service: string, workload: string, object: unknown): Finding[] {
  const replicas = replicasOf(object);
  // 0 is deliberate (dapr_placement.scaleZero), not a lack of HA.
  if (typeof replicas !== 'number' || replicas === 0 || replicas >= HA_REPLICAS) return [];
  const count = `${replicas} replica${replicas === 1 ? '' : 's'}`;
  if (service === 'scheduler')
    return [
      {
        message: `${workload} runs ${count} — run ${HA_REPLICAS}: the Scheduler's embedded etcd needs a quorum, and Dapr's chart always renders ${HA_REPLICAS}`,
      },
    ];
  if (!HA_SERVICES.has(service)) return [];
  return [
    {
      message: `${workload} runs ${count} — run ${HA_REPLICAS} for high availability: upgrade Dapr with --set global.ha.enabled=true`,
    },
  ];
}

/** Placement and Scheduler keep Raft/etcd quorums: Dapr's chart spreads them (podAntiAffinity) with global.ha. */
const SPREAD_SERVICES: ReadonlySet<string> = new Set<ControlPlaneService>(['placement', 'scheduler']);

function spreadFindings(service: string, workload: string, object: unknown): Finding[] {
  const replicas = replicasOf(object);
  if (!SPREAD_SERVICES.has(service) || typeof replicas !== 'number' || replicas < 2) return [];
  const pod = recordAt(object, ['spec', 'template', 'spec']);
  const spread =
    asRecord(pod?.['affinity'])?.['podAntiAffinity'] !== undefined ||
    asArray(pod?.['topologySpreadConstraints']).length > 0;
  if (spread) return [];
  return [
    {
      message: `${workload}: its ${replicas} replicas are not spread (no podAntiAffinity or topologySpreadConstraints) — upgrade Dapr with --set global.ha.enabled=true, which spreads them across zones`,
    },
  ];
}

function resourceFindings(recommended: Recommendation | undefined, workload: string, object: unknown): Finding[] {
  if (recommended === undefined) return [];
  const containers = asArray(recordAt(object, ['spec', 'template', 'spec'])?.['containers']);
  return containers.flatMap((container) => {
    const found = shortfalls(asRecord(container), recommended);
    if (found.length === 0) return [];
    const name = quoted(asString(asRecord(container)?.['name']) ?? '', 24);
    return [
      {
        message: `${workload}, container ${name}: ${describeShortfalls(found)} — ${describeRecommendation(recommended)}`,
      },
    ];
  });
}

/** A setting that is missing, or below the recommendation. */
interface Shortfall {
  readonly setting: Setting;
  readonly missing: boolean;
}

function shortfalls(container: Record<string, unknown> | undefined, recommended: Recommendation): Shortfall[] {
  const resources = asRecord(container?.['resources']);
  return SETTINGS.flatMap(([setting, section, resource]): Shortfall[] => {
    const wanted = recommended[setting];
    if (wanted === undefined) return [];
    const text = quantityText(asRecord(resources?.[section])?.[resource]);
    const value = text === undefined ? undefined : parseQuantity(text);
    if (value === undefined) return [{ setting, missing: true }];
    const minimum = parseQuantity(wanted);
    return minimum !== undefined && compareQuantities(value, minimum) < 0 ? [{ setting, missing: false }] : [];
  });
}

/** Manifests may write `cpu: 1`; the API server always sends strings. */
function quantityText(raw: unknown): string | undefined {
  return typeof raw === 'number' ? String(raw) : asString(raw);
}

/** `no cpu request, memory limit; too low: cpu limit` (the values themselves are left out to stay within a warning). */
function describeShortfalls(found: readonly Shortfall[]): string {
  const missing = found.filter((shortfall) => shortfall.missing).map((shortfall) => shortfall.setting);
  const low = found.filter((shortfall) => !shortfall.missing).map((shortfall) => shortfall.setting);
  return [
    ...(missing.length === 0 ? [] : [`no ${missing.join(', ')}`]),
    ...(low.length === 0 ? [] : [`too low: ${low.join(', ')}`]),
  ].join('; ');
}

function describeRecommendation(recommended: Recommendation): string {
  const memoryLimit = recommended['memory limit'];
  const limits = `limits cpu ${recommended['cpu limit'] ?? ''}${memoryLimit === undefined ? ' (no memory limit)' : `, memory ${memoryLimit}`}`;
  return `use requests cpu ${recommended['cpu request'] ?? ''}, memory ${recommended['memory request'] ?? ''}; ${limits}`;
}
