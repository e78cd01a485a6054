import { leastStrict, type Mode } from '../../admission/mode.ts';
import type { Finding } from '../rule.ts';

/** Findings one rule lists for one object; the rest are counted, so one object cannot make a multi-megabyte reply. */
export const MAX_LISTED_FINDINGS = 20;

/**
 * The first `MAX_LISTED_FINDINGS` findings and, when there are more, one finding that counts the rest
 * (`more(count)` renders its message). It is as strict as the strictest finding it stands for, so that
 * listing advice first can never turn a refusal into a warning.
 */
export function capFindings(findings: readonly Finding[], more: (count: number) => string): Finding[] {
  if (findings.length <= MAX_LISTED_FINDINGS) return [...findings];
  const rest = findings.slice(MAX_LISTED_FINDINGS);
  const maxMode = strictestMaxMode(rest);
  const summary: Finding =
    maxMode === undefined ? { message: more(rest.length) } : { message: more(rest.length), maxMode };
  return [...findings.slice(0, MAX_LISTED_FINDINGS), summary];
}

/** undefined (no cap) when any finding has none. */
function strictestMaxMode(findings: readonly Finding[]): Mode | undefined {
  let strictest: Mode | undefined;
  for (const { maxMode } of findings) {
    if (maxMode === undefined) return undefined;
    strictest = strictest === undefined || leastStrict(strictest, maxMode) === strictest ? maxMode : strictest;
  }
  return strictest;
}
