import { HA_CAPACITY_RULE_ID } from './ha-capacity.ts';
import { RUNNING_SIDECAR_RESOURCES_RULE_ID, STALE_SIDECAR_RULE_ID } from './sidecars.ts';
import { TRUST_BUNDLE_EXPIRY_RULE_ID } from './trust-bundle.ts';
import { POD_KINDS } from '../rules/support/workloads.ts';

interface AuditCheck {
  readonly id: string;
  readonly description: string;
  /** The kinds of the objects its findings are reported at (owners: a Pod's check is reported at its workload). */
  readonly kinds: readonly string[];
}

/** The checks only an audit can make (they need the running cluster), each with its own id and page. */
export const AUDIT_CHECKS: readonly AuditCheck[] = [
  {
    id: STALE_SIDECAR_RULE_ID,
    kinds: POD_KINDS,
    description:
      "Pods whose daprd image differs from the control plane's (the injector's SIDECAR_IMAGE, else the Operator's version): restart the owning workload.",
  },
  {
    id: RUNNING_SIDECAR_RESOURCES_RULE_ID,
    kinds: POD_KINDS,
    description:
      'Running daprd containers (or native sidecars) without the production CPU and memory requests and limits.',
  },
  {
    id: TRUST_BUNDLE_EXPIRY_RULE_ID,
    kinds: ['Secret'],
    description:
      'The root (ca.crt) and issuer (issuer.crt) certificates of dapr-trust-bundle: a warning below 30 days, an error once expired.',
  },
  {
    id: HA_CAPACITY_RULE_ID,
    // Too few nodes is reported at the control-plane Namespace; replicas on one node at their workload.
    kinds: ['Namespace', 'Deployment', 'StatefulSet'],
    description:
      'Fewer than 3 schedulable Linux nodes for the Dapr control plane, or HA replicas not spread across nodes.',
  },
];
