import type { KubeObject } from '../admission/wire.ts';
import { CONTROL_PLANE_WORKLOADS } from '../rules/support/control-plane.ts';
import { isRecord } from '../util/json.ts';
import { checkFinding, type AuditFinding } from './model.ts';
import type { OwnerIndex } from './owners.ts';

export const HA_CAPACITY_RULE_ID = 'ha-capacity';
/** The production guidelines: three worker nodes for the HA control plane's three replicas. */
export const HA_NODES = 3;

const CONTROL_PLANE_NAMES: ReadonlyMap<string, string> = new Map(
  Object.values(CONTROL_PLANE_WORKLOADS).map((workload) => [workload.name, workload.kind]),
);

interface ControlPlaneWorkload {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  replicas: number;
  /** Node name → Pods of the workload scheduled there. */
  readonly nodes: Map<string, number>;
}

/** Counts schedulable Linux nodes, and where the Dapr control plane's Pods are scheduled. */
export class HaObserver {
  private schedulableLinuxNodes = 0;
  private nodesListed = false;
  private readonly workloads = new Map<string, ControlPlaneWorkload>();

  observeNode(node: KubeObject): void {
    this.nodesListed = true;
    if (isSchedulableLinux(node)) this.schedulableLinuxNodes += 1;
  }

  observeWorkload(object: KubeObject, kind: string): void {
    const name = object.metadata?.name ?? '';
    if (CONTROL_PLANE_NAMES.get(name) !== kind) return;
    const spec = object['spec'];
    const replicas = isRecord(spec) && typeof spec['replicas'] === 'number' ? spec['replicas'] : 1;
    const namespace = object.metadata?.namespace ?? '';
    this.entry(kind, namespace, name).replicas = replicas;
  }

  observePod(pod: KubeObject, owners: OwnerIndex): void {
    const spec = pod['spec'];
    const nodeName = isRecord(spec) && typeof spec['nodeName'] === 'string' ? spec['nodeName'] : undefined;
    if (nodeName === undefined) return;
    const workload = owners.workloadOf(pod, 'Pod');
    if (CONTROL_PLANE_NAMES.get(workload.name) !== workload.kind) return;
    const nodes = this.entry(workload.kind, workload.namespace, workload.name).nodes;
    nodes.set(nodeName, (nodes.get(nodeName) ?? 0) + 1);
  }

  /** Too few nodes for an HA control plane, and HA workloads with two Pods on one node. */
  findings(): AuditFinding[] {
    const highlyAvailable = [...this.workloads.values()].filter((workload) => workload.replicas > 1);
    const findings: AuditFinding[] = [];
    if (this.nodesListed && this.workloads.size > 0 && this.schedulableLinuxNodes < HA_NODES) {
      findings.push(
        checkFinding({
          ruleId: HA_CAPACITY_RULE_ID,
          severity: 'warning',
          message:
            `the cluster has ${this.schedulableLinuxNodes} schedulable Linux node(s): the Dapr control plane in HA mode ` +
            `needs ${HA_NODES}, one per replica — add worker nodes (kubernetes.io/os=linux, without NoSchedule taints)`,
          object: { apiVersion: 'v1', kind: 'Namespace', name: this.controlPlaneNamespace() },
        }),
      );
    }
    for (const workload of highlyAvailable) findings.push(...spreadFindings(workload));
    return findings;
  }

  /** Where the control plane runs: the cluster-wide finding is filed under its Namespace. */
  private controlPlaneNamespace(): string {
    return [...this.workloads.values()][0]?.namespace ?? '';
  }

  private entry(kind: string, namespace: string, name: string): ControlPlaneWorkload {
    const key = `${namespace}/${kind}/${name}`;
    let entry = this.workloads.get(key);
    if (entry === undefined) {
      entry = { kind, namespace, name, replicas: 0, nodes: new Map() };
      this.workloads.set(key, entry);
    }
    return entry;
  }
}

function spreadFindings(workload: ControlPlaneWorkload): AuditFinding[] {
  const crowded = [...workload.nodes].filter(([, pods]) => pods > 1);
  if (crowded.length === 0) return [];
  const where = crowded.map(([node, pods]) => `${pods} on node ${JSON.stringify(node)}`).join(', ');
  return [
    checkFinding({
      ruleId: HA_CAPACITY_RULE_ID,
      severity: 'warning',
      object: {
        apiVersion: 'apps/v1',
        kind: workload.kind,
        namespace: workload.namespace,
        name: workload.name,
      },
      message:
        `the ${workload.replicas} replicas of ${workload.kind} ${workload.namespace}/${workload.name} are not spread ` +
        `across nodes (${where}): one node failure stops several — give it a pod anti-affinity or topology spread ` +
        `on kubernetes.io/hostname, and enough nodes`,
    }),
  ];
}

const BLOCKING_TAINTS = new Set(['NoSchedule', 'NoExecute']);

function isSchedulableLinux(node: KubeObject): boolean {
  const labels = node.metadata?.labels ?? {};
  if ((labels['kubernetes.io/os'] ?? labels['beta.kubernetes.io/os']) !== 'linux') return false;
  const spec = node['spec'];
  if (!isRecord(spec)) return true;
  if (spec['unschedulable'] === true) return false;
  const taints = Array.isArray(spec['taints']) ? (spec['taints'] as unknown[]) : [];
  return !taints.some((taint) => isRecord(taint) && BLOCKING_TAINTS.has(String(taint['effect'])));
}
