import type { PatchOperation } from '../../admission/json-patch.ts';
import type { InputProblem, ReviewedObject, SkippedCounts } from '../../report/model.ts';
import { parseManifests, type ParsedFile, type SourceObject } from './documents.ts';
import type { Inputs } from './inputs.ts';
import { reviewManifest, type ObjectOutcome, type ReviewSettings } from './review.ts';

/** The patch the mutating webhook would send for one object of a file. */
export interface ObjectPatch {
  readonly source: SourceObject;
  readonly patch: readonly PatchOperation[];
}

/** What --fix would write into one file. */
export interface FileFix {
  readonly file: ParsedFile;
  readonly patches: readonly ObjectPatch[];
}

export interface CheckResult {
  readonly objects: readonly ReviewedObject[];
  readonly problems: readonly InputProblem[];
  readonly skipped: SkippedCounts;
  /** Every parsed file, with the patches of its objects (none for a file that needs no change). */
  readonly fixes: readonly FileFix[];
}

/** Every object of every input through the review core. Pure: the texts are already read. */
export function checkManifests(inputs: Inputs, settings: ReviewSettings): CheckResult {
  const objects: ReviewedObject[] = [];
  const problems: InputProblem[] = [...inputs.problems];
  const fixes: FileFix[] = [];
  let notObjects = 0;
  let unreviewedKinds = 0;
  for (const input of inputs.texts) {
    const parsed = parseManifests(input);
    if (!parsed.ok) {
      problems.push(parsed.problem);
      continue;
    }
    notObjects += parsed.file.notObjects;
    const patches: ObjectPatch[] = [];
    for (const source of parsed.file.objects) {
      const outcome = safeReview(source, settings);
      if (typeof outcome === 'string') {
        problems.push({ source: input.path, line: source.location.line, message: outcome });
        continue;
      }
      if (!outcome.reviewed) {
        unreviewedKinds += 1;
        continue;
      }
      objects.push(outcome.result);
      if (outcome.patch.length > 0) patches.push({ source, patch: outcome.patch });
    }
    fixes.push({ file: parsed.file, patches });
  }
  return { objects, problems, skipped: { notObjects, unreviewedKinds }, fixes };
}

/** An object the review core cannot handle (nested past the stack) is a problem of its file, not the end of the run. */
function safeReview(source: SourceObject, settings: ReviewSettings): ObjectOutcome | string {
  try {
    return reviewManifest(source.object, source.location, settings);
  } catch (error: unknown) {
    const reason = error instanceof RangeError ? 'nested too deeply' : 'an unexpected error';
    return `the object in document ${source.location.document + 1} cannot be reviewed: ${reason}`;
  }
}
