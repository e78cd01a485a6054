/** The API server's audit log (JSON lines, audit.k8s.io/v1 Events). */
import { existsSync, readFileSync } from 'node:fs';
import { eventually } from './wait.ts';

export interface AuditEvent {
  readonly auditID: string;
  readonly stage: string;
  readonly verb: string;
  readonly objectRef?: {
    readonly resource?: string;
    readonly namespace?: string;
    readonly name?: string;
    readonly apiGroup?: string;
  };
  readonly responseStatus?: { readonly code?: number };
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface AuditQuery {
  readonly verb: string;
  readonly resource: string;
  readonly namespace: string;
  readonly name: string;
}

/** The ResponseComplete event of one request, waiting for the API server to write it; with its raw line. */
export async function auditEventOf(path: string, query: AuditQuery): Promise<{ event: AuditEvent; line: string }> {
  return eventually(
    async () => {
      for (const line of completeLines(path)) {
        const event = JSON.parse(line) as AuditEvent;
        if (matches(event, query)) return { event, line };
      }
      return undefined;
    },
    {
      description: `the audit event of ${query.verb} ${query.resource} ${query.namespace}/${query.name} in ${path}`,
      timeoutMs: 15_000,
    },
  );
}

/** The lines the API server has finished writing. */
function completeLines(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .slice(0, -1)
    .filter((line) => line.startsWith('{'));
}

function matches(event: AuditEvent, query: AuditQuery): boolean {
  const reference = event.objectRef;
  return (
    event.stage === 'ResponseComplete' &&
    event.verb === query.verb &&
    reference?.resource === query.resource &&
    reference.namespace === query.namespace &&
    reference.name === query.name
  );
}
