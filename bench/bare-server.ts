// The baseline for `npm run bench`: a bare Fastify server with the same transport as dapr-guard
// (HTTP/2 with HTTP/1.1 fallback over TLS 1.2+, default JSON parsing), answering a fixed allowed review.
import { readFileSync } from 'node:fs';
import fastify from 'fastify';

const [certFile, keyFile, portText] = process.argv.slice(2);
if (certFile === undefined || keyFile === undefined || portText === undefined)
  throw new Error('usage: bare-server.ts <cert> <key> <port>');

const app = fastify({
  http2: true,
  https: { allowHTTP1: true, minVersion: 'TLSv1.2', cert: readFileSync(certFile), key: readFileSync(keyFile) },
  bodyLimit: 5 * 1024 * 1024, // as dapr-guard (src/config/options.ts)
});
const allowed = {
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  response: { uid: 'fixed', allowed: true },
};
for (const path of ['/mutate', '/validate']) app.post(path, async () => allowed);
app.get('/readyz', async () => ({ status: 'ok' }));
await app.listen({ host: '127.0.0.1', port: Number(portText) });
process.stdout.write('bare server listening\n');
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
