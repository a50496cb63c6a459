#!/usr/bin/env node
/**
 * Kubernetes exec probe: grpc.health.v1.Health/Check over the service's own
 * transport security. Kubelet's native `grpc:` probe speaks plaintext only,
 * and the mesh's gRPC ports require TLS (mTLS when [Security] tls_ca is set),
 * so the probe runs inside the container with the pod's certificate instead.
 *
 *   node deploy/grpc-health-probe.mjs <port> <service> [--host 127.0.0.1]
 *        [--server-name localhost] [--timeout-ms 3000]
 *
 * [Security] plaintext / tls_cert / tls_key / tls_ca come from the settings
 * file named by AIDE_SETTINGS and AIDE_SECURITY_* env overrides, exactly as
 * the services read them. The server's certificate must name --server-name
 * (default localhost; see deploy/k8s/README.md). Exit 0 when the service is
 * SERVING, 1 otherwise (the reason on stderr). Plain ESM: no tsx start-up cost.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { parse } from 'ini';

function fail(message) {
  process.stderr.write(`grpc-health-probe: ${message}\n`);
  process.exit(1);
}

const positional = [];
const flags = { host: '127.0.0.1', 'server-name': 'localhost', 'timeout-ms': '3000' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  if (arg.startsWith('--')) {
    const [name, inline] = arg.slice(2).split('=', 2);
    if (!(name in flags)) fail(`unknown option --${name}`);
    flags[name] = inline ?? argv[++i];
  } else {
    positional.push(arg);
  }
}
const [port, service = ''] = positional;
if (!port || !/^\d+$/.test(port)) fail('usage: grpc-health-probe.mjs <port> <service> [--host h] [--server-name n] [--timeout-ms ms]');

/** [Security] key as libs/config reads it: env AIDE_SECURITY_<KEY> (even empty) beats the file; names match case-insensitively. */
function security(key) {
  const fromEnv = process.env[`AIDE_SECURITY_${key.toUpperCase()}`];
  if (fromEnv !== undefined) return fromEnv;
  const file = process.env.AIDE_SETTINGS;
  if (!file) return undefined;
  const tree = parse(readFileSync(file, 'utf8'));
  const section = Object.entries(tree).find(([name]) => name.toLowerCase() === 'security')?.[1];
  const value = section && Object.entries(section).find(([name]) => name.toLowerCase() === key)?.[1];
  return value === undefined || value === null ? undefined : String(value);
}

let credentials;
try {
  const plaintext = ['true', 'yes', 'on', '1'].includes((security('plaintext') ?? 'false').trim().toLowerCase());
  if (plaintext) {
    credentials = grpc.credentials.createInsecure();
  } else {
    const ca = security('tls_ca');
    const cert = security('tls_cert');
    const key = security('tls_key');
    if (!ca) fail('TLS needs [Security] tls_ca to verify the server');
    credentials = grpc.credentials.createSsl(
      readFileSync(ca),
      key && cert ? readFileSync(key) : null,
      key && cert ? readFileSync(cert) : null,
    );
  }
} catch (err) {
  fail(`cannot load credentials: ${err.message}`);
}

// HealthCheckRequest { string service = 1; } / HealthCheckResponse { ServingStatus status = 1; }
const encodeRequest = ({ service: name }) => {
  const bytes = Buffer.from(name, 'utf8');
  const length = [];
  for (let n = bytes.length; ; n >>>= 7) {
    if (n < 0x80) { length.push(n); break; }
    length.push((n & 0x7f) | 0x80);
  }
  return bytes.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, ...length]), bytes]);
};
const decodeResponse = (buf) => {
  let status = 0;
  for (let i = 0; i < buf.length;) {
    const tag = buf[i++];
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const b = buf[i++];
      value |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    if (tag === 0x08) status = value;
    else if ((tag & 7) !== 0) break; // status is the only field; stop on anything unexpected
  }
  return { status };
};
const STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

const timeoutMs = Number(flags['timeout-ms']);
const client = new grpc.Client(`${flags.host}:${port}`, credentials, {
  'grpc.ssl_target_name_override': flags['server-name'],
  'grpc.default_authority': flags['server-name'],
});
client.makeUnaryRequest(
  '/grpc.health.v1.Health/Check',
  encodeRequest,
  decodeResponse,
  { service },
  new grpc.Metadata(),
  { deadline: Date.now() + timeoutMs },
  (err, response) => {
    client.close();
    if (err) fail(`${flags.host}:${port} ${JSON.stringify(service)}: ${err.details || err.message}`);
    const name = STATUS[response.status] ?? String(response.status);
    if (response.status !== 1) fail(`${JSON.stringify(service)} is ${name}`);
    process.exit(0);
  },
);
