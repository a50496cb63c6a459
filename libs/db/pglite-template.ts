/**
 * A fresh PGlite cluster runs initdb in WebAssembly: about 4 s and 6 CPU-s
 * on 2 cores, paid by every `npm start` and every test that opens an
 * in-memory database. A copy of a cluster initialised once (per PGlite
 * version and OS user, kept in the temp folder) loads in about 1.4 s instead.
 * The template is an optimisation only: when it is missing, unreadable or
 * fails to load, the cluster is initialised as before and the template
 * written again.
 */
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';

type PGliteClass = typeof PGlite;

async function templatePath(): Promise<string> {
  // The package's own version: a template never outlives the PGlite that wrote it.
  const entry = fileURLToPath(import.meta.resolve('@electric-sql/pglite'));
  const { version } = JSON.parse(await readFile(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string };
  return join(tmpdir(), `aide-pglite-${version}-${userInfo().uid}.tar.gz`);
}

/** The template's bytes, if there is one and this user wrote it (the temp folder is shared). */
async function readTemplate(path: string): Promise<Buffer | undefined> {
  try {
    const info = await stat(path);
    if (info.uid !== userInfo().uid || !info.isFile()) return undefined;
    return await readFile(path);
  } catch {
    return undefined;
  }
}

/** Written under a private name, then renamed: processes starting at once never read half a template. */
async function saveTemplate(lite: PGlite, path: string): Promise<void> {
  const dump = await lite.dumpDataDir('gzip');
  const partial = `${path}.${process.pid}.partial`;
  try {
    await writeFile(partial, Buffer.from(await dump.arrayBuffer()), { mode: 0o600 });
    await rename(partial, path);
  } catch {
    await unlink(partial).catch(() => undefined);
  }
}

/** A new in-memory PGlite cluster, from the template at `path` (default: the temp folder's) when one loads. */
export async function createInMemoryPGlite(PGliteCtor: PGliteClass, path?: string): Promise<PGlite> {
  path ??= await templatePath();
  const template = await readTemplate(path);
  if (template) {
    const loaded = await PGliteCtor.create({ loadDataDir: new Blob([template]) }).catch(() => undefined);
    if (loaded) return loaded;
  }
  const lite = await PGliteCtor.create();
  await saveTemplate(lite, path);
  return lite;
}
