#!/usr/bin/env node
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeServingBundle } from './files.ts';

const HELP = `Usage: npm run certs -- --service <name> --namespace <ns> [--out <dir>] [--validity-days <n>] [--dns-name <name>]...

Writes ca.crt, tls.crt and tls.key for a webhook Service: a new CA and a serving certificate with the
SANs <svc>, <svc>.<ns>, <svc>.<ns>.svc, <svc>.<ns>.svc.cluster.local, localhost and 127.0.0.1.

  --service <name>        Service name (required)
  --namespace <ns>        Service namespace (required)
  --out <dir>             Output directory (default: certs)
  --validity-days <n>     Validity of both certificates in days (default: 365)
  --dns-name <name>       Extra DNS SAN; repeat for more
  -h, --help              Show this help
`;

function main(argv: readonly string[]): number {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      service: { type: 'string' },
      namespace: { type: 'string' },
      out: { type: 'string', default: 'certs' },
      'validity-days': { type: 'string', default: '365' },
      'dns-name': { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  const validityDays = Number(values['validity-days']);
  if (
    values.service === undefined ||
    values.namespace === undefined ||
    !Number.isInteger(validityDays) ||
    validityDays < 1
  ) {
    process.stderr.write(
      `--service and --namespace are required and --validity-days must be a positive integer\n\n${HELP}`,
    );
    return 2;
  }
  const out = values.out;
  writeServingBundle({
    caFile: join(out, 'ca.crt'),
    certFile: join(out, 'tls.crt'),
    keyFile: join(out, 'tls.key'),
    serviceName: values.service,
    serviceNamespace: values.namespace,
    dnsNames: values['dns-name'],
    validityDays,
  });
  process.stdout.write(
    `wrote ${join(out, 'ca.crt')}, ${join(out, 'tls.crt')} and ${join(out, 'tls.key')} for ${values.service}.${values.namespace}.svc\n`,
  );
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error: unknown) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
  process.exitCode = 2;
}
