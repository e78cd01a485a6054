import type { AdmissionRequest } from '../admission/wire.ts';
import { clipText } from '../rules/support/messages.ts';
import {
  annotationsAt,
  EXEMPT_ANNOTATION,
  EXEMPT_REASON_ANNOTATION,
  exemptionCountsIn,
  exemptionOrigin,
  type ExemptionSettings,
} from './exemption-access.ts';

export { EXEMPT_ANNOTATION, EXEMPT_REASON_ANNOTATION };

/** The id in `[exemptions] …` notices and in the template guard's findings. */
export const EXEMPTIONS_ID = 'exemptions';

/** Pod templates whose annotations a controller copies into the objects it creates. */
const TEMPLATE_METADATA_PATHS: readonly (readonly string[])[] = [
  ['spec', 'template', 'metadata'],
  ['spec', 'jobTemplate', 'spec', 'template', 'metadata'],
];

const MAX_QUOTED_ID_LENGTH = 63;
/** As for rule findings: one object cannot fill the reply with notices. */
const MAX_UNKNOWN_ID_NOTICES = 20;
/** The reason goes into the log and the audit annotations. */
const MAX_REASON_LENGTH = 256;

export interface ExemptionRequest {
  /** Rule ids exempted for this object, when the exemption is valid and allowed. */
  readonly exemptedRuleIds: ReadonlySet<string>;
  readonly reason: string;
  /** Why an exemption annotation was not honoured, as user-facing messages. */
  readonly notices: readonly string[];
}

const NONE: ExemptionRequest = { exemptedRuleIds: new Set(), reason: '', notices: [] };

/**
 * Reads `dapr-guard.io/exempt: <rule-id>[,<rule-id>]` on the request object. It counts only with a
 * non-empty `dapr-guard.io/exempt-reason`, when the operator allows exemptions in the namespace, and
 * when an allowed user set it (see exemptionOrigin).
 */
export function readExemptions(
  request: AdmissionRequest,
  knownRuleIds: ReadonlySet<string>,
  settings: ExemptionSettings,
  namespace: string | undefined,
): ExemptionRequest {
  const annotations = annotationsAt(request.object, ['metadata']);
  const listed = annotations?.[EXEMPT_ANNOTATION];
  if (typeof listed !== 'string' || listed.trim() === '') return NONE;
  const refusal = refusalOf(request, settings, namespace);
  if (refusal !== undefined) return { ...NONE, notices: [refusal] };
  const reason = annotations?.[EXEMPT_REASON_ANNOTATION];
  if (typeof reason !== 'string' || reason.trim() === '') {
    return {
      ...NONE,
      notices: [
        notice(`${EXEMPT_ANNOTATION} is ignored — add ${EXEMPT_REASON_ANNOTATION} saying why the object is exempt`),
      ],
    };
  }
  const ruleIds = listed
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  const unknown = [...new Set(ruleIds.filter((id) => !knownRuleIds.has(id)))];
  return {
    exemptedRuleIds: new Set(ruleIds.filter((id) => knownRuleIds.has(id))),
    reason: clipText(reason.trim(), MAX_REASON_LENGTH),
    notices: unknownIdNotices(unknown),
  };
}

function unknownIdNotices(unknown: readonly string[]): string[] {
  const listed = unknown
    .slice(0, MAX_UNKNOWN_ID_NOTICES)
    .map((id) =>
      notice(`${EXEMPT_ANNOTATION} names unknown rule "${clipText(id, MAX_QUOTED_ID_LENGTH)}"; it has no effect`),
    );
  const more = unknown.length - listed.length;
  if (more === 0) return listed;
  return [
    ...listed,
    notice(`${EXEMPT_ANNOTATION} names ${more} more unknown rules — list only rule ids from dapr-guard --help`),
  ];
}

/**
 * A pod template that gained or changed an exemption from a user outside `exemptions.allowedGroups`:
 * the Pods a controller creates from it would carry the exemption with the controller's identity, so
 * the workload itself is refused (in the namespace's mode). Nothing to say where exemptions cannot count.
 */
export function templateExemptionFindings(
  request: AdmissionRequest,
  settings: ExemptionSettings,
  namespace: string | undefined,
): string[] {
  if (!settings.enabled || !exemptionCountsIn(namespace, settings)) return [];
  return TEMPLATE_METADATA_PATHS.filter((path) => hasExemption(request, path))
    .filter((path) => exemptionOrigin(request, path, settings.allowedGroups) === 'not-allowed')
    .map(
      (path) =>
        `${path.slice(0, -1).join('.')} sets ${EXEMPT_ANNOTATION}, which only a cluster operator (exemptions.allowedGroups) may add or change — remove it from the template, or ask a cluster operator to set it`,
    );
}

/** Why the exemption cannot count here, as a notice; undefined when it may. */
function refusalOf(
  request: AdmissionRequest,
  settings: ExemptionSettings,
  namespace: string | undefined,
): string | undefined {
  if (!settings.enabled) return notice(`${EXEMPT_ANNOTATION} is ignored: exemptions are turned off in this cluster`);
  if (!exemptionCountsIn(namespace, settings)) {
    const where =
      namespace === undefined ? 'cluster-scoped objects' : `namespace ${clipText(namespace, MAX_QUOTED_ID_LENGTH)}`;
    return notice(
      `${EXEMPT_ANNOTATION} is ignored: exemptions do not count in ${where} (exemptions.namespaces), so the rules apply`,
    );
  }
  if (exemptionOrigin(request, ['metadata'], settings.allowedGroups) === 'not-allowed') {
    return notice(
      `${EXEMPT_ANNOTATION} is ignored: it was added or changed by a user outside exemptions.allowedGroups, so the rules apply — ask a cluster operator to set it`,
    );
  }
  return undefined;
}

function hasExemption(request: AdmissionRequest, metadataPath: readonly string[]): boolean {
  const listed = annotationsAt(request.object, metadataPath)?.[EXEMPT_ANNOTATION];
  return typeof listed === 'string' && listed.trim() !== '';
}

function notice(message: string): string {
  return `[${EXEMPTIONS_ID}] ${message}`;
}
