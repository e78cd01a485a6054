import { readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import type { InputProblem } from '../../report/model.ts';

/** A file's text (or standard input's), with the path as the user will see it in the report. */
export interface InputText {
  readonly path: string;
  readonly text: string;
}

export interface Inputs {
  readonly texts: readonly InputText[];
  readonly problems: readonly InputProblem[];
  /** Every source named or found, in order, including the unreadable ones. */
  readonly sources: readonly string[];
}

export const STDIN_PATH = '-';
export const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;
/** Larger than any rendered chart; a bigger input is refused rather than read into memory. */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;
/** A directory tree deeper than this is not a manifest folder (and may be a symlink loop). */
const MAX_DEPTH = 32;

/** The files a PATH stands for: itself, or the manifests under it (sorted, recursively; symlinked folders are not followed). */
export function expandPaths(paths: readonly string[]): { files: string[]; problems: InputProblem[] } {
  const files: string[] = [];
  const problems: InputProblem[] = [];
  for (const path of paths) {
    if (path === STDIN_PATH) {
      files.push(path);
      continue;
    }
    const kind = pathKind(path);
    if (typeof kind !== 'string') problems.push(kind);
    else if (kind === 'directory') walk(path, 0, files, problems);
    else files.push(path);
  }
  // A file named twice (itself and through its folder) is read, reported and fixed once.
  return { files: [...new Set(files)], problems };
}

function pathKind(path: string): 'file' | 'directory' | InputProblem {
  try {
    return statSync(path).isDirectory() ? 'directory' : 'file';
  } catch (error: unknown) {
    return { source: path, message: `cannot read ${path}: ${errorCode(error)}` };
  }
}

function walk(directory: string, depth: number, files: string[], problems: InputProblem[]): void {
  if (depth > MAX_DEPTH) {
    problems.push({ source: directory, message: `not read: more than ${MAX_DEPTH} directories deep` });
    return;
  }
  let entries: Dirent[];
  try {
    entries = readdirSync(directory, { withFileTypes: true });
  } catch (error: unknown) {
    problems.push({ source: directory, message: `cannot read directory ${directory}: ${errorCode(error)}` });
    return;
  }
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) walk(path, depth + 1, files, problems);
    else if ((entry.isFile() || entry.isSymbolicLink()) && isManifestName(entry.name)) files.push(path);
  }
}

function isManifestName(name: string): boolean {
  return MANIFEST_EXTENSIONS.some((extension) => name.toLowerCase().endsWith(extension));
}

/** Reads the files (and standard input once) as UTF-8; what cannot be read becomes a problem, not an exception. */
export async function readInputs(paths: readonly string[], stdin: AsyncIterable<Buffer | string>): Promise<Inputs> {
  const { files, problems } = expandPaths(paths);
  const texts: InputText[] = [];
  const sources = [...problems.map((problem) => problem.source)];
  for (const path of files) {
    sources.push(path);
    const read = path === STDIN_PATH ? await readStdin(stdin) : readFile(path);
    if (typeof read === 'string') texts.push({ path, text: read });
    else problems.push({ source: path, message: read.message });
  }
  return { texts, problems, sources: [...new Set(sources)] };
}

function readFile(path: string): string | { message: string } {
  try {
    const size = statSync(path).size;
    if (size > MAX_INPUT_BYTES)
      return { message: `not read: ${path} is larger than ${MAX_INPUT_BYTES / 1024 / 1024} MiB` };
    return readFileSync(path, 'utf8');
  } catch (error: unknown) {
    return { message: `cannot read ${path}: ${errorCode(error)}` };
  }
}

async function readStdin(stdin: AsyncIterable<Buffer | string>): Promise<string | { message: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stdin) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buffer.length;
      if (size > MAX_INPUT_BYTES)
        return { message: `not read: standard input is larger than ${MAX_INPUT_BYTES / 1024 / 1024} MiB` };
      chunks.push(buffer);
    }
  } catch (error: unknown) {
    return { message: `cannot read standard input: ${errorCode(error)}` };
  }
  return Buffer.concat(chunks).toString('utf8');
}

function errorCode(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}
