#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeServingBundle } from './files.ts';
import { DEFAULT_CA_VALIDITY_DAYS } from './generate.ts';

const HELP = `Usage: npm run certs -- --service <name> --namespace <ns> [--out <dir>] [--validity-days <n>]
                      [--ca-validity-days <n>] [--dns-name <name>]... [--force]

Writes ca.crt, tls.crt and tls.key for a webhook Service: a new CA and a serving certificate with the
SANs <svc>, <svc>.<ns>, <svc>.<ns>.svc, <svc>.<ns>.svc.cluster.local, localhost, 127.0.0.1 and ::1.

  --service <name>          Service name (required; a DNS label: a-z, 0-9 and -)
  --namespace <ns>          Service namespace (required; a DNS label)
  --out <dir>               Output directory (default: certs, the files npm start serves)
  --validity-days <n>       Validity of the serving certificate in days (default: 365)
  --ca-validity-days <n>    Validity of the CA in days, longer than the serving certificate's
                            (default: ${DEFAULT_CA_VALIDITY_DAYS})
  --dns-name <name>         Extra DNS SAN (RFC 1123; "*." only as the leftmost label); repeat for more
  --force                   Replace ca.crt, tls.crt and tls.key when they exist (a new CA: the old
                            caBundle stops working)
  -h, --help                Show this help
`;

/** RFC 1123 label: letters, digits and '-', 1–63 characters, not starting or ending with '-'. */
const LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/i;
const MAX_DNS_NAME_LENGTH = 253;

/** Why `name` is not a DNS name a certificate may hold, or undefined when it is one. */
function dnsNameProblem(name: string, wildcard: boolean): string | undefined {
  const accepts = wildcard
    ? 'labels of a-z, 0-9 and "-" (1 to 63, not starting or ending with "-") separated by ".", "*." allowed only as the leftmost label'
    : 'a DNS label: a-z, 0-9 and "-", 1 to 63 characters, not starting or ending with "-"';
  const labels = name.split('.');
  const [first] = labels;
  const checked = wildcard && first === '*' && labels.length > 1 ? labels.slice(1) : labels;
  const bad =
    name.length > MAX_DNS_NAME_LENGTH ||
    (!wildcard && labels.length !== 1) ||
    checked.some((label) => !LABEL.test(label));
  return bad ? `${JSON.stringify(name)} is not valid: expected ${accepts}` : undefined;
}

interface CertsArguments {
  readonly service: string;
  readonly namespace: string;
  readonly out: string;
  readonly validityDays: number;
  readonly caValidityDays: number;
  readonly dnsNames: readonly string[];
  readonly force: boolean;
}

interface Values {
  readonly service?: string | undefined;
  readonly namespace?: string | undefined;
  readonly out: string;
  readonly 'validity-days': string;
  readonly 'ca-validity-days': string;
  readonly 'dns-name': string[];
  readonly force: boolean;
  readonly help?: boolean | undefined;
}

function parse(argv: readonly string[]): Values {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      service: { type: 'string' },
      namespace: { type: 'string' },
      out: { type: 'string', default: 'certs' },
      'validity-days': { type: 'string', default: '365' },
      'ca-validity-days': { type: 'string', default: String(DEFAULT_CA_VALIDITY_DAYS) },
      'dns-name': { type: 'string', multiple: true, default: [] },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  return values;
}

function positiveInteger(flag: string, text: string, problems: string[]): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    problems.push(`--${flag} must be a positive integer, got ${JSON.stringify(text)}`);
  return value;
}

function labelArgument(flag: string, value: string | undefined, problems: string[]): string {
  if (value === undefined) {
    problems.push(`--${flag} is required`);
    return '';
  }
  const problem = dnsNameProblem(value, false);
  if (problem !== undefined) problems.push(`--${flag} ${problem}`);
  return value;
}

function readArguments(values: Values, problems: string[]): CertsArguments {
  const validityDays = positiveInteger('validity-days', values['validity-days'], problems);
  const caValidityDays = positiveInteger('ca-validity-days', values['ca-validity-days'], problems);
  if (caValidityDays <= validityDays) {
    problems.push(
      `--ca-validity-days (${caValidityDays}) must be longer than --validity-days (${validityDays}), so that the CA outlives the serving certificate`,
    );
  }
  for (const name of values['dns-name']) {
    const problem = dnsNameProblem(name, true);
    if (problem !== undefined) problems.push(`--dns-name ${problem}`);
  }
  return {
    service: labelArgument('service', values.service, problems),
    namespace: labelArgument('namespace', values.namespace, problems),
    out: values.out,
    validityDays,
    caValidityDays,
    dnsNames: values['dns-name'],
    force: values.force,
  };
}

function main(argv: readonly string[]): number {
  const values = parse(argv);
  if (values.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  const problems: string[] = [];
  const args = readArguments(values, problems);
  if (problems.length > 0) {
    process.stderr.write(`${problems.join('\n')}\n\n${HELP}`);
    return 2;
  }
  const files = {
    caFile: join(args.out, 'ca.crt'),
    certFile: join(args.out, 'tls.crt'),
    keyFile: join(args.out, 'tls.key'),
  };
  const existing = Object.values(files).filter((path) => existsSync(path));
  if (existing.length > 0 && !args.force) {
    process.stderr.write(
      `${existing.join(', ')} already ${existing.length === 1 ? 'exists' : 'exist'}; nothing was written — ` +
        'pass --force to replace them (a new CA: every caBundle made from the old one stops working), or choose another --out\n',
    );
    return 2;
  }
  writeServingBundle(
    {
      ...files,
      serviceName: args.service,
      serviceNamespace: args.namespace,
      dnsNames: args.dnsNames,
      validityDays: args.validityDays,
      caValidityDays: args.caValidityDays,
    },
    { overwrite: args.force },
  );
  process.stdout.write(
    `wrote ${files.caFile}, ${files.certFile} and ${files.keyFile} for ${args.service}.${args.namespace}.svc\n`,
  );
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error: unknown) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
  process.exitCode = 2;
}
