/**
 * A FileServer on a temp root, reachable over gRPC and HTTP, with two projects
 * and a zoo of symlinks:
 *
 *   <tmp>/outside/secret.txt          not under the root at all
 *   <tmp>/root/toplevel.txt           under the root, in no project
 *   <tmp>/root/beta/secret.txt        another project
 *   <tmp>/root/alpha/...              the project under test (see LEGIT_FILES)
 */
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient, startServer, type Client } from '../../libs/grpc/index.js';
import { createLogger } from '../../libs/log.js';
import { FileServiceService } from '../../libs/gen/aide/v1/fileserver.js';
import { startFileHttpServer, type Authorize } from '../../services/fileserver/http.js';
import { fileServiceEntry } from '../../services/fileserver/service.js';
import { openFileStore, type FileStore, type FileStoreOptions } from '../../services/fileserver/store.js';

/** Legitimate odd names in project alpha and their contents. */
export const LEGIT_FILES: Record<string, string> = {
  'hello.txt': 'hello alpha',
  'with space.txt': 'spaces are fine',
  'ünïcødé.txt': 'nfc name',
  '..foo': 'leading dots',
  'foo..jpg': 'inner dots',
  '...': 'three dots',
  'a/b/c/deep.txt': 'nested',
  'percent%20name.txt': 'literal percent',
  '%2e%2e': 'literal escaped dots',
  'plus+sign & more.txt': 'plus',
  "quote'name\".txt": 'quotes',
  '#hash?.txt': 'hash and question',
  'emoji😀.png': 'emoji',
  'x.unknownext': 'octet stream',
};

/** Symlinks in alpha that stay inside alpha: served like the files they name. */
export const INSIDE_LINKS: Record<string, string> = {
  'link-inside.txt': 'hello alpha',
  'link-abs-inside.txt': 'hello alpha',
  'link-dir-inside/c/deep.txt': 'nested',
};

export interface Fixture {
  tmp: string;
  root: string;
  outside: string;
  store: FileStore;
  grpc: Client<typeof FileServiceService>;
  httpPort: number;
  close(): Promise<void>;
}

async function populate(tmp: string): Promise<{ root: string; outside: string }> {
  const root = path.join(tmp, 'root');
  const outside = path.join(tmp, 'outside');
  const alpha = path.join(root, 'alpha');
  await mkdir(outside, { recursive: true });
  await mkdir(path.join(root, 'beta'), { recursive: true });
  await writeFile(path.join(outside, 'secret.txt'), 'outside secret');
  await writeFile(path.join(root, 'toplevel.txt'), 'root secret');
  await writeFile(path.join(root, 'beta', 'secret.txt'), 'beta secret');
  for (const [name, content] of Object.entries(LEGIT_FILES)) {
    await mkdir(path.dirname(path.join(alpha, name)), { recursive: true });
    await writeFile(path.join(alpha, name), content);
  }
  const links: Array<[string, string]> = [
    ['link-inside.txt', 'hello.txt'],
    ['link-abs-inside.txt', path.join(alpha, 'hello.txt')],
    ['link-dir-inside', 'a/b'],
    ['link-other-project.txt', '../beta/secret.txt'],
    ['link-other-project-dir', path.join(root, 'beta')],
    ['link-etc-passwd', '/etc/passwd'],
    ['link-etc', '/etc'],
    ['link-outdir', outside],
    ['link-root', '..'],
    ['link-tmp', '/tmp'],
    ['link-proc', '/proc/self/root/etc/passwd'],
    ['link-dangling-out', path.join(outside, 'missing')],
    ['link-loop', 'link-loop'],
    ['a/link-up', '../../beta'],
  ];
  for (const [name, target] of links) await symlink(target, path.join(alpha, name));
  return { root, outside };
}

export async function startFixture(opts: { store?: Partial<FileStoreOptions>; authorize?: Authorize } = {}): Promise<Fixture> {
  const tmp = await realpath(await mkdtemp(path.join(tmpdir(), 'aide-fs-')));
  const { root, outside } = await populate(tmp);
  const store = await openFileStore({ root, ...opts.store });
  const logger = createLogger('fileserver-test', 'silent');
  const server = await startServer({
    name: 'fileserver', host: '127.0.0.1', port: 0, reflection: false, logger,
    services: [fileServiceEntry(store)],
  });
  const web = await startFileHttpServer({ root: store.root, host: '127.0.0.1', port: 0, authorize: opts.authorize, logger });
  const grpc = createClient(FileServiceService, server.address);
  return {
    tmp, root: store.root, outside, store, grpc, httpPort: web.port,
    async close() {
      grpc.close();
      await Promise.all([server.shutdown(1000), web.close()]);
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A raw HTTP request: the path goes on the wire exactly as given (no URL normalization). */
export function httpGet(port: number, rawPath: string, headers: http.OutgoingHttpHeaders = {}, method = 'GET'): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every character percent-encoded where needed, '/' included: the server's single decode restores the path. */
export const encodePath = (p: string): string => encodeURIComponent(p);
