import { isMap, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import type { KubeObject } from '../../admission/wire.ts';
import type { FileLocation, InputProblem } from '../../report/model.ts';
import { isRecord } from '../../util/json.ts';
import type { InputText } from './inputs.ts';

/** One Kubernetes object read from a file, with where it starts. */
export interface SourceObject {
  readonly object: KubeObject;
  readonly location: FileLocation;
}

/** A parsed file: its YAML documents (for --fix), the objects in them, and what was not an object. */
export interface ParsedFile {
  readonly input: InputText;
  readonly documents: readonly Document.Parsed[];
  readonly objects: readonly SourceObject[];
  readonly notObjects: number;
}

export type ParseResult =
  { readonly ok: true; readonly file: ParsedFile } | { readonly ok: false; readonly problem: InputProblem };

/** A billion laughs is refused: an alias may be expanded this many times per document. */
const MAX_ALIAS_COUNT = 100;

/**
 * The objects of a multi-document YAML (or JSON) text, `kind: List` and `*List` items one by one.
 * A syntax error anywhere makes the whole file a problem (nothing of it is reviewed or fixed), named
 * by line, column and the parser's reason, without the parser's excerpt of the text (it may hold a secret).
 */
export function parseManifests(input: InputText): ParseResult {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(input.text, { lineCounter, prettyErrors: true });
  const errored = documents.find((document) => document.errors.length > 0);
  const error = errored?.errors[0];
  if (error !== undefined) {
    const position = error.linePos?.[0];
    return {
      ok: false,
      problem: {
        source: input.path,
        ...(position === undefined ? {} : { line: position.line, column: position.col }),
        message: `YAML syntax error: ${reasonOf(error.message)}`,
      },
    };
  }
  const objects: SourceObject[] = [];
  let notObjects = 0;
  for (const [index, document] of documents.entries()) {
    const read = documentObjects(document, index, input.path, lineCounter);
    if ('problem' in read) return { ok: false, problem: read.problem };
    objects.push(...read.objects);
    notObjects += read.notObjects;
  }
  return { ok: true, file: { input, documents, objects, notObjects } };
}

/** `Implicit keys need to be on a single line at line 3, column 6:\n\n<excerpt>` → the reason alone. */
function reasonOf(message: string): string {
  if (message.includes('Maximum call stack size exceeded')) return 'nested too deeply to read';
  const cut = message.search(/ at line \d+, column \d+/);
  return (cut < 0 ? (message.split('\n')[0] ?? '') : message.slice(0, cut)).slice(0, 200);
}

function documentObjects(
  document: Document.Parsed,
  index: number,
  path: string,
  lineCounter: LineCounter,
): { objects: SourceObject[]; notObjects: number } | { problem: InputProblem } {
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error: unknown) {
    const line = lineOf(document.contents, lineCounter);
    return {
      problem: {
        source: path,
        line,
        message: `YAML document ${index + 1} cannot be read: ${error instanceof Error ? error.message.slice(0, 200) : 'unknown error'}`,
      },
    };
  }
  if (!isObject(value)) return { objects: [], notObjects: 1 };
  const base = { type: 'file', path, document: index } as const;
  if (!isListOf(value)) {
    return {
      objects: [{ object: value, location: { ...base, line: lineOf(document.contents, lineCounter) } }],
      notObjects: 0,
    };
  }
  const itemNodes = itemNodesOf(document);
  const objects: SourceObject[] = [];
  let notObjects = 0;
  for (const [item, entry] of value.items.entries()) {
    if (!isObject(entry)) {
      notObjects += 1;
      continue;
    }
    const line = lineOf(itemNodes[item] ?? document.contents, lineCounter);
    objects.push({ object: entry, location: { ...base, line, item } });
  }
  return { objects, notObjects };
}

/** A Kubernetes object: a mapping with a non-empty apiVersion and kind. */
function isObject(value: unknown): value is KubeObject {
  return (
    isRecord(value) &&
    typeof value['apiVersion'] === 'string' &&
    value['apiVersion'] !== '' &&
    typeof value['kind'] === 'string' &&
    value['kind'] !== ''
  );
}

/** `kind: List` (kubectl's), or `<Kind>List` (what `kubectl get -o yaml` writes) with an items sequence. */
function isListOf(object: KubeObject): object is KubeObject & { items: unknown[] } {
  return (object.kind ?? '').endsWith('List') && Array.isArray(object['items']);
}

function itemNodesOf(document: Document.Parsed): readonly (Node | null)[] {
  const contents = document.contents;
  if (!isMap(contents)) return [];
  const items = contents.get('items', true);
  return isSeq(items) ? (items.items as (Node | null)[]) : [];
}

function lineOf(node: Node | null | undefined, lineCounter: LineCounter): number {
  const offset = node?.range?.[0];
  return offset === undefined ? 1 : lineCounter.linePos(offset).line;
}
