import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
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
  /** Default: generateServingBundle's (longer than the serving certificate's). */
  readonly caValidityDays?: number;
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

/**
 * A certificate file the user pointed at is missing, unreadable or wrong: a configuration problem, so
 * startup stops with exit code 2 like a ConfigError. The message names the setting and the file.
 */
export class TlsFilesError extends Error {
  override readonly name = 'TlsFilesError';
}

type FileSetting = keyof CertificateFiles;

/** How a user sets each file: the YAML key, the flag and the variable (config/options.ts). */
const SETTINGS: Readonly<Record<FileSetting, { key: string; flag: string; env: string }>> = {
  caFile: { key: 'tls.caFile', flag: '--tls-ca', env: 'DAPR_GUARD_TLS_CA' },
  certFile: { key: 'tls.certFile', flag: '--tls-cert', env: 'DAPR_GUARD_TLS_CERT' },
  keyFile: { key: 'tls.keyFile', flag: '--tls-key', env: 'DAPR_GUARD_TLS_KEY' },
};

/** `tls.keyFile (/path/tls.key)`: the setting and the file it names. */
export function describeFileSetting(setting: FileSetting, files: Partial<CertificateFiles>): string {
  return `${SETTINGS[setting].key} (${files[setting] ?? ''})`;
}

/** `tls.keyFile / --tls-key / DAPR_GUARD_TLS_KEY`: every way to set it. */
export function describeSettingSources(setting: FileSetting): string {
  const { key, flag, env } = SETTINGS[setting];
  return `${key} / ${flag} / ${env}`;
}

/** Which of the files exist: the serving pair decides whether generation may run at all. */
export function existingCertificateFiles(files: CertificateFiles): FileSetting[] {
  return (['caFile', 'certFile', 'keyFile'] as const).filter((setting) => existsSync(files[setting]));
}

export interface WriteOptions {
  /** false (the default): a file that exists is never replaced; the write fails with EEXIST instead. */
  readonly overwrite?: boolean;
}

/** Generates a CA and a serving certificate and writes them; the private keys are readable by the owner only. */
export function writeServingBundle(options: LocalCertificateOptions, write: WriteOptions = {}): ServingBundle {
  const bundle = generateServingBundle({
    ...servingNames(options),
    validityDays: options.validityDays,
    ...(options.caValidityDays === undefined ? {} : { caValidityDays: options.caValidityDays }),
  });
  const flag = write.overwrite === true ? 'w' : 'wx';
  writeFile(options.caFile, bundle.ca.certPem, 0o644, flag);
  writeFile(options.certFile, bundle.serving.certPem, 0o644, flag);
  writeFile(options.keyFile, bundle.serving.keyPem, 0o600, flag);
  return bundle;
}

/** Reads the serving pair and checks it is a PEM certificate and a PEM key that belong together. */
export function readPair(files: Pick<CertificateFiles, 'certFile' | 'keyFile'>): { cert: Buffer; key: Buffer } {
  const cert = readSettingFile('certFile', files);
  const key = readSettingFile('keyFile', files);
  const certificate = parseCertificate(cert, files);
  const privateKey = parseKey(key, files);
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new TlsFilesError(
      `${describeFileSetting('keyFile', files)} does not match ${describeFileSetting('certFile', files)} — ` +
        'the key is not the private key of the certificate; give both files of the same pair',
    );
  }
  return { cert, key };
}

function readSettingFile(
  setting: 'certFile' | 'keyFile',
  files: Pick<CertificateFiles, 'certFile' | 'keyFile'>,
): Buffer {
  try {
    return readFileSync(files[setting]);
  } catch (error: unknown) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new TlsFilesError(
      `${describeFileSetting(setting, files)} cannot be read (${code}) — set ${describeSettingSources(setting)} to a readable file`,
    );
  }
}

function parseCertificate(cert: Buffer, files: Pick<CertificateFiles, 'certFile' | 'keyFile'>): X509Certificate {
  try {
    return new X509Certificate(cert);
  } catch {
    throw new TlsFilesError(
      `${describeFileSetting('certFile', files)} is not a PEM certificate — ` +
        'it must hold a "-----BEGIN CERTIFICATE-----" block (tls.crt of a Secret or of npm run certs)',
    );
  }
}

function parseKey(key: Buffer, files: Pick<CertificateFiles, 'certFile' | 'keyFile'>): KeyObject {
  try {
    return createPrivateKey(key);
  } catch {
    throw new TlsFilesError(
      `${describeFileSetting('keyFile', files)} is not a PEM private key — ` +
        'it must hold an unencrypted "-----BEGIN PRIVATE KEY-----" (or RSA/EC PRIVATE KEY) block',
    );
  }
}

function writeFile(path: string, content: string, mode: number, flag: 'w' | 'wx'): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content, { mode, flag });
}
