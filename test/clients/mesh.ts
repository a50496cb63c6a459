import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createLogger } from '../../libs/log.js';
import { startEmbeddedMesh, type EmbeddedMesh } from '../../services/embedded/mesh.js';

/** The whole mesh in this process on free loopback ports, PGlite and the in-process bus; stopped after the test. */
export async function startTestMesh(t: TestContext): Promise<EmbeddedMesh> {
  const mesh = await startEmbeddedMesh({
    logger: createLogger('test', 'silent'),
    env: {
      AIDE_AICONTROLLER_HOST: '127.0.0.1', AIDE_AICONTROLLER_PORT: '0',
      AIDE_RANKER_HOST: '127.0.0.1', AIDE_RANKER_PORT: '0',
      AIDE_FILESERVER_HOST: '127.0.0.1', AIDE_FILESERVER_PORT: '0', AIDE_FILESERVER_HTTP_PORT: '0',
      AIDE_AIWORKER_HOST: '127.0.0.1',
      AIDE_FILESERVER_ROOT: mkdtempSync(join(tmpdir(), 'aide-clients-')),
    },
  });
  t.after(() => mesh.stop());
  return mesh;
}
