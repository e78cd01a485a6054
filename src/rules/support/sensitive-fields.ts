import { DECLARED_SENSITIVE_FIELDS, SENSITIVE_FIELD_ALIASES } from '../data/sensitive-fields.ts';

/**
 * Lower-cased names of the metadata fields a component type declares sensitive, plus the other
 * spellings it accepts for them: daprd lower-cases `spec.type` and matches metadata names ignoring case.
 */
const SENSITIVE_BY_TYPE: ReadonlyMap<string, ReadonlySet<string>> = buildSensitiveByType();

const NONE: ReadonlySet<string> = new Set();

/** The declared-sensitive metadata names of `specType` (any case), lower-cased; empty for unknown types. */
export function declaredSensitiveFields(specType: string): ReadonlySet<string> {
  return SENSITIVE_BY_TYPE.get(specType.toLowerCase()) ?? NONE;
}

function buildSensitiveByType(): Map<string, Set<string>> {
  const byType = new Map<string, Set<string>>(
    Object.entries(DECLARED_SENSITIVE_FIELDS).map(([type, names]) => [
      type,
      new Set(names.map((name) => name.toLowerCase())),
    ]),
  );
  for (const alias of SENSITIVE_FIELD_ALIASES) {
    const spellings = [alias.decodedName, ...alias.aliases].map((name) => name.toLowerCase());
    for (const type of alias.specTypes) {
      const names = byType.get(type);
      // An alias matters only where one of its spellings is declared sensitive (url → connectionString).
      if (names !== undefined && spellings.some((spelling) => names.has(spelling)))
        spellings.forEach((spelling) => names.add(spelling));
    }
  }
  return byType;
}

/**
 * Fields the name heuristic would flag but that hold no secret for these types
 * (metadata.yaml: the SQLite connection string is a database file name or `file:` URI).
 */
export const NOT_SECRET_FIELDS: Readonly<Record<string, readonly string[]>> = {
  'state.sqlite': ['connectionstring', 'url'],
  'state.sqlite3': ['connectionstring', 'url'],
  'nameresolution.sqlite': ['connectionstring', 'url'],
};

export function isKnownNotSecret(specType: string, fieldName: string): boolean {
  return NOT_SECRET_FIELDS[specType.toLowerCase()]?.includes(fieldName.toLowerCase()) === true;
}
