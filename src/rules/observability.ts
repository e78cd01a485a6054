import type { Finding, RuleContext, ValidatingRule } from './rule.ts';
import { isDaprKind } from './support/dapr-kinds.ts';
import { contextObjectName } from './support/objects.ts';
import { asString, recordAt } from './support/json.ts';
import { fitMessage, messageBudget } from './support/messages.ts';

export const OBSERVABILITY_RULE_ID = 'observability';

const BUDGET = messageBudget(OBSERVABILITY_RULE_ID);

/** Both spellings are in the Configuration CRD schema. */
const METRICS_KEYS = ['metric', 'metrics'] as const;

/** Advises against Dapr Configurations that turn metrics or trace sampling off. */
export function observabilityRule(): ValidatingRule {
  return {
    id: OBSERVABILITY_RULE_ID,
    type: 'validating',
    description: 'Warns about Dapr Configurations that disable metrics or set the tracing samplingRate to zero.',
    defaultMode: 'warn',
    kinds: ['Configuration'],
    validate: observabilityFindings,
  };
}

function observabilityFindings(context: RuleContext): Finding[] {
  if (!isDaprKind(context.request.kind, 'Configuration')) return [];
  const name = contextObjectName(context);
  return [...metricsFindings(context, name), ...samplingFindings(context, name)];
}

function metricsFindings(context: RuleContext, name: string): Finding[] {
  return METRICS_KEYS.filter((key) => recordAt(context.object, ['spec', key])?.['enabled'] === false).map((key) => ({
    message: fitMessage(
      (clip) =>
        `Configuration "${clip(name)}" sets spec.${key}.enabled: false, so its sidecars export no metrics — remove it or set spec.${key}.enabled to true`,
      BUDGET,
    ),
  }));
}

function samplingFindings(context: RuleContext, name: string): Finding[] {
  const rate = recordAt(context.object, ['spec', 'tracing'])?.['samplingRate'];
  const text = typeof rate === 'number' ? String(rate) : asString(rate);
  if (text === undefined || !samplesNothing(text)) return [];
  return [
    {
      message: fitMessage(
        (clip) =>
          `Configuration "${clip(name)}" sets spec.tracing.samplingRate "${clip(text)}", which turns trace sampling off — use a rate above 0, for example "0.01" ("1" samples every request)`,
        BUDGET,
      ),
    },
  ];
}

/** Go strconv.ParseFloat's decimal syntax: Dapr parses the rate with it and uses 0.0001 when it fails. */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;

/** Zero disables tracing; a negative ratio samples nothing either (OpenTelemetry clamps it to 0). */
function samplesNothing(rate: string): boolean {
  return DECIMAL.test(rate) && Number(rate) <= 0;
}
