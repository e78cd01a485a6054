import { leastStrict, type Mode } from '../admission/mode.ts';

export interface ModeInputs {
  /** The cluster-wide default (`mode`). */
  readonly globalMode: Mode;
  /** `rules.<id>.mode` from the configuration, when the operator set one. */
  readonly configuredRuleMode: Mode | undefined;
  /** The rule's own default (advice-only rules default to warn). */
  readonly ruleDefaultMode: Mode;
  /** The `dapr-guard.io/mode` label of the object's namespace, when known. */
  readonly namespaceMode: Mode | undefined;
}

/**
 * A rule's level is the mode configured for it, or else its default capped by the global mode.
 * A namespace label replaces the global mode for that namespace: it can lower any rule (audit there)
 * or raise the default, but never above the rule's own configured or default mode.
 */
export function resolveMode(inputs: ModeInputs): Mode {
  const ruleMode = inputs.configuredRuleMode ?? inputs.ruleDefaultMode;
  if (inputs.namespaceMode !== undefined) return leastStrict(inputs.namespaceMode, ruleMode);
  if (inputs.configuredRuleMode !== undefined) return inputs.configuredRuleMode;
  return leastStrict(inputs.globalMode, inputs.ruleDefaultMode);
}
