import type { GroupVersionKind } from '../../admission/wire.ts';
import { asString, recordAt } from './json.ts';
import { nonEmpty } from '../../util/json.ts';

export const DAPR_API_GROUP = 'dapr.io';

/** The Dapr custom resources the validating rules read (charts/dapr/crds). */
export type DaprKind = 'Component' | 'Configuration' | 'HTTPEndpoint' | 'MCPServer';

/** Matched on group and kind from the request: all served versions share the v1alpha1 shape today. */
export function isDaprKind(kind: GroupVersionKind, daprKind: DaprKind): boolean {
  return kind.group === DAPR_API_GROUP && kind.kind === daprKind;
}

/** `auth.secretStore` of a Component or HTTPEndpoint: where its `secretKeyRef`s are read from. */
export function secretStoreOf(object: unknown): string | undefined {
  return nonEmpty(asString(recordAt(object, ['auth'])?.['secretStore']));
}
