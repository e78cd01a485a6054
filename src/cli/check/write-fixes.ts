import { writeFileSync } from 'node:fs';
import type { InputProblem } from '../../report/model.ts';
import type { CliOutput } from '../commands.ts';
import type { FileFix } from './check.ts';
import { fixedText } from './fix.ts';
import { STDIN_PATH, type InputText } from './inputs.ts';

/**
 * --fix: writes each file that needs a change in place; standard input's stream, fixed or not, goes to
 * `stdout`. A file that cannot be fixed exactly is left untouched and reported.
 */
export function writeFixes(
  fixes: readonly FileFix[],
  texts: readonly InputText[],
  stdout: CliOutput,
): { problems: InputProblem[] } {
  const problems: InputProblem[] = [];
  // Standard input that did not parse still goes through, unchanged: the stream is not lost.
  const unparsedStdin = texts.find(
    (input) => input.path === STDIN_PATH && !fixes.some(({ file }) => file.input.path === STDIN_PATH),
  );
  if (unparsedStdin !== undefined) stdout.write(unparsedStdin.text);
  for (const { file, patches } of fixes) {
    const { path, text } = file.input;
    const fixed = patches.length === 0 ? { ok: true as const, text } : fixedText(text, patches);
    if (!fixed.ok) {
      problems.push({ source: path, message: fixed.message });
      if (path === STDIN_PATH) stdout.write(text);
      continue;
    }
    if (path === STDIN_PATH) stdout.write(fixed.text);
    else if (fixed.text !== text) writeFile(path, fixed.text, problems);
  }
  return { problems };
}

function writeFile(path: string, text: string, problems: InputProblem[]): void {
  try {
    writeFileSync(path, text);
  } catch (error: unknown) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    problems.push({ source: path, message: `--fix cannot write ${path}: ${code}` });
  }
}
