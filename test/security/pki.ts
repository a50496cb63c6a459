/**
 * A throwaway certificate authority made with the openssl command at test
 * time: a CA and leaf certificates (server and client usage, SANs for
 * 127.0.0.1 / localhost plus a URI naming the service).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertFiles {
  cert: string;
  key: string;
}

export interface Pki {
  /** The CA certificate (tls_ca) */
  ca: string;
  /** A leaf certificate signed by this CA, written as <name>.crt / <name>.key. */
  issue(name: string, opts?: { uri?: string }): CertFiles;
}

const openssl = (args: string[]): void => { execFileSync('openssl', args, { stdio: 'pipe' }); };
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function createPki(dir: string, caName: string): Pki {
  const ca = join(dir, `${caName}.crt`);
  const caKey = join(dir, `${caName}.key`);
  openssl(['req', '-x509', ...EC_KEY, '-keyout', caKey, '-out', ca, '-days', '1', '-subj', `/CN=${caName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  let serial = 0;
  return {
    ca,
    issue(name, opts = {}) {
      const base = join(dir, `${caName}-${name}-${++serial}`);
      const ext = `${base}.ext`;
      const sans = ['DNS:localhost', 'IP:127.0.0.1', ...(opts.uri ? [`URI:${opts.uri}`] : [])].join(',');
      writeFileSync(ext, `subjectAltName=${sans}\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n`);
      openssl(['req', ...EC_KEY, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${name}`]);
      openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', ca, '-CAkey', caKey, '-CAcreateserial',
        '-out', `${base}.crt`, '-days', '1', '-extfile', ext]);
      return { cert: `${base}.crt`, key: `${base}.key` };
    },
  };
}
