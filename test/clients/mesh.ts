import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { quoteIdent } from '../../libs/db/index.js';
import { createLogger } from '../../libs/log.js';
import { startEmbeddedMesh, type EmbeddedMesh } from '../../services/embedded/mesh.js';
import { realPostgresUrl, uniqueSchemaName } from '../support/postgres.js';

/**
 * The whole mesh in this process on free loopback ports and the in-process bus; stopped after the test. Its
 * database is a schema of its own on the real Postgres where one answers (dropped after the test), else PGlite,
 * whose start-up (migrations in WebAssembly) takes about 30 s more on 2 busy cores.
 */
export async function startTestMesh(t: TestContext): Promise<EmbeddedMesh> {
  const url = await realPostgresUrl();
  const schema = uniqueSchemaName('mesh');
  const mesh = await startEmbeddedMesh({
    logger: createLogger('test', 'silent'),
    env: {
      AIDE_AICONTROLLER_HOST: '127.0.0.1', AIDE_AICONTROLLER_PORT: '0', AIDE_AICONTROLLER_STATE_LANE_PORT: '0',
      AIDE_RANKER_HOST: '127.0.0.1', AIDE_RANKER_PORT: '0',
      AIDE_FILESERVER_HOST: '127.0.0.1', AIDE_FILESERVER_PORT: '0', AIDE_FILESERVER_HTTP_PORT: '0',
      AIDE_AIWORKER_HOST: '127.0.0.1',
      AIDE_FILESERVER_ROOT: mkdtempSync(join(tmpdir(), 'aide-clients-')),
      ...(url ? { AIDE_DATABASE_URL: url, AIDE_DATABASE_SCHEMA: schema } : {}),
    },
  });
  t.after(async () => {
    if (url) await mesh.database.pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    await mesh.stop();
  });
  return mesh;
}
