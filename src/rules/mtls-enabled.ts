import type { Finding, RuleContext, ValidatingRule } from './rule.ts';
import { isDaprKind } from './support/dapr-kinds.ts';
import { contextObjectName } from './support/objects.ts';
import { recordAt } from './support/json.ts';
import { fitMessage, messageBudget } from './support/messages.ts';

export const MTLS_ENABLED_RULE_ID = 'mtls-enabled';

const BUDGET = messageBudget(MTLS_ENABLED_RULE_ID);

/** The Configuration the sidecar injector reads `spec.mtls.enabled` from (in the control-plane namespace). */
const CONTROL_PLANE_CONFIGURATION = 'daprsystem';

/** Refuses Dapr Configurations that turn mTLS off. */
export function mtlsEnabledRule(): ValidatingRule {
  return {
    id: MTLS_ENABLED_RULE_ID,
    type: 'validating',
    description: 'Refuses Dapr Configurations with spec.mtls.enabled: false (mTLS between sidecars must stay on).',
    defaultMode: 'enforce',
    kinds: ['Configuration'],
    validate: mtlsFindings,
  };
}

function mtlsFindings(context: RuleContext): Finding[] {
  if (!isDaprKind(context.request.kind, 'Configuration')) return [];
  // Absent means on: the runtime treats a missing mtls block or field as enabled.
  if (recordAt(context.object, ['spec', 'mtls'])?.['enabled'] !== false) return [];
  const name = contextObjectName(context);
  const effect =
    name === CONTROL_PLANE_CONFIGURATION
      ? 'in the control-plane namespace this turns off mTLS for every Dapr sidecar'
      : 'only daprsystem in the control-plane namespace takes effect, but disabled mTLS is refused everywhere';
  return [
    {
      message: fitMessage(
        (clip) =>
          `Configuration "${clip(name)}" sets spec.mtls.enabled: false (${effect}) — set spec.mtls.enabled to true`,
        BUDGET,
      ),
    },
  ];
}
