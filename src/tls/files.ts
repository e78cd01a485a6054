import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { generateServingBundle, serviceDnsNames, type ServingBundle } from './generate.ts';

export interface CertificateFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export interface LocalCertificateOptions extends CertificateFiles {
  readonly dnsNames: readonly string[];
  readonly serviceName: string;
  readonly serviceNamespace: string;
  readonly validityDays: number;
}

/** What a webhook served locally or in a cluster answers to, and the subject CN of its certificate. */
export function servingNames(options: Pick<LocalCertificateOptions, 'dnsNames' | 'serviceName' | 'serviceNamespace'>): {
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
} {
  const inCluster = options.serviceName !== '' && options.serviceNamespace !== '';
  const service = inCluster ? serviceDnsNames(options.serviceName, options.serviceNamespace) : [];
  return {
    commonName: inCluster ? `${options.serviceName}.${options.serviceNamespace}.svc` : 'localhost',
    dnsNames: ['localhost', ...service, ...options.dnsNames],
    ipAddresses: ['127.0.0.1', '::1'],
  };
}

export function certificateFilesExist(files: CertificateFiles): boolean {
  return existsSync(files.certFile) && existsSync(files.keyFile);
}

/** Generates a CA and a serving certificate and writes them; the private keys are readable by the owner only. */
export function writeServingBundle(options: LocalCertificateOptions): ServingBundle {
  const bundle = generateServingBundle({ ...servingNames(options), validityDays: options.validityDays });
  writeFile(options.caFile, bundle.ca.certPem, 0o644);
  writeFile(options.certFile, bundle.serving.certPem, 0o644);
  writeFile(options.keyFile, bundle.serving.keyPem, 0o600);
  return bundle;
}

export function readPair(files: Pick<CertificateFiles, 'certFile' | 'keyFile'>): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) };
}

function writeFile(path: string, content: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content, { mode });
}
