import { kindResourceOf } from '../admission/kinds.ts';
import { isMode, NAMESPACE_MODE_LABEL, type Mode } from '../admission/mode.ts';
import type { KubeObject, UserInfo } from '../admission/wire.ts';
import type { Policy } from '../policy/evaluate.ts';
import type { SidecarResourceValues } from '../rules/support/dapr-annotations.ts';
import { ControlPlaneObserver } from './control-plane.ts';
import { HaObserver } from './ha-capacity.ts';
import { apiVersionOf, type AuditKind } from './kinds.ts';
import { compareFindings, refOf, type AuditFinding, type AuditResult, type ObjectRef } from './model.ts';
import { controllerOf, OwnerIndex, TEMPLATE_OWNER_KINDS } from './owners.ts';
import { reviewFindings } from './review-findings.ts';
import { SidecarObserver } from './sidecars.ts';
import { trustBundleFindings, type TrustBundle } from './trust-bundle.ts';

export interface AuditSettings {
  /** The policy of the configuration, reading namespace modes from the Namespaces the audit listed. */
  readonly policyOf: (namespaceMode: (namespace: string) => Mode | undefined) => Policy;
  /** Who the review says created each object (see reviewFindings). */
  readonly userInfo: UserInfo;
  readonly sidecarDefaults: SidecarResourceValues;
  readonly now: Date;
}

/**
 * The audit's decisions, fed one listed object at a time (in AUDIT_KINDS order) so that no list is kept:
 * it keeps the findings, the namespace modes, the owners of ReplicaSets and Jobs and a few strings per
 * Dapr workload. Pure: the lister does the I/O.
 */
export class Auditor {
  private readonly settings: AuditSettings;
  private readonly policy: Policy;
  private readonly modes = new Map<string, Mode>();
  private readonly owners = new OwnerIndex();
  private readonly controlPlane = new ControlPlaneObserver();
  private readonly sidecars = new SidecarObserver();
  private readonly ha = new HaObserver();
  private readonly unavailableKinds = new Set<string>();
  private readonly findings: AuditFinding[] = [];
  private readonly notes: string[] = [];
  private readonly problems: string[] = [];
  private readonly objects: ObjectRef[] = [];
  private readonly listed: Record<string, number> = {};
  private readonly reviewed: Record<string, number> = {};

  constructor(settings: AuditSettings) {
    this.settings = settings;
    this.policy = settings.policyOf((namespace) => this.modes.get(namespace));
  }

  /** A kind that could not be listed: its objects' children are reviewed themselves. */
  unavailable(kind: AuditKind, message: string, as: 'note' | 'problem'): void {
    this.unavailableKinds.add(kind.kind);
    (as === 'note' ? this.notes : this.problems).push(message);
  }

  note(message: string): void {
    this.notes.push(message);
  }

  problem(message: string): void {
    this.problems.push(message);
  }

  observe(kind: AuditKind, object: KubeObject): void {
    this.listed[kind.kind] = (this.listed[kind.kind] ?? 0) + 1;
    this.observeForChecks(kind.kind, object);
    // A kind the rules do not know yet (MCPServer before its rules) is listed for the checks only.
    if (!kind.reviewed || kindResourceOf(kind.kind) === undefined || this.isReviewedAtOwner(object)) return;
    const namespace = object.metadata?.namespace ?? '';
    this.reviewed[namespace] = (this.reviewed[namespace] ?? 0) + 1;
    const ref = refOf(object, kind.kind, apiVersionOf(kind));
    this.objects.push(ref);
    this.findings.push(...reviewFindings({ ...object, kind: kind.kind }, ref, this.policy, this.settings.userInfo));
  }

  /** The namespace Dapr's injector or Operator was seen in, once the Deployments and Pods are listed. */
  controlPlaneNamespace(): string | undefined {
    return this.controlPlane.version()?.namespace;
  }

  trustBundle(bundle: TrustBundle): void {
    this.findings.push(...trustBundleFindings(bundle, this.settings.now));
  }

  finish(): AuditResult {
    const findings = [
      ...this.findings,
      ...this.sidecars.staleFindings(this.controlPlane.version()),
      ...this.sidecars.resourceFindings(this.settings.sidecarDefaults),
      ...this.ha.findings(),
    ].sort(compareFindings);
    return {
      findings,
      notes: [...this.notes],
      problems: [...this.problems],
      objects: [...this.objects],
      listed: { ...this.listed },
      reviewed: { ...this.reviewed },
    };
  }

  private observeForChecks(kind: string, object: KubeObject): void {
    if (kind === 'Namespace') this.rememberMode(object);
    else if (kind === 'Node') this.ha.observeNode(object);
    else if (kind === 'ReplicaSet' || kind === 'Job') this.owners.remember(object);
    this.controlPlane.observe(object, kind);
    if (kind === 'Deployment' || kind === 'StatefulSet') this.ha.observeWorkload(object, kind);
    if (kind === 'Pod') {
      this.sidecars.observePod(object, this.owners);
      this.ha.observePod(object, this.owners);
    }
  }

  private rememberMode(namespace: KubeObject): void {
    const name = namespace.metadata?.name;
    const label = namespace.metadata?.labels?.[NAMESPACE_MODE_LABEL];
    if (name !== undefined && isMode(label)) this.modes.set(name, label);
  }

  /** Owned by a controller whose template the audit reviews: reported once, at that owner. */
  private isReviewedAtOwner(object: KubeObject): boolean {
    const controller = controllerOf(object);
    return (
      controller !== undefined &&
      TEMPLATE_OWNER_KINDS.has(controller.kind) &&
      !this.unavailableKinds.has(controller.kind)
    );
  }
}
