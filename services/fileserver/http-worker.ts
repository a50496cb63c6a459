/**
 * One HTTP process of a FileServer with [FileServer] http_processes > 1
 * (forked by http-workers.ts). It takes the service's resolved settings over
 * IPC, not from its own environment, and serves /files/ exactly as the
 * in-process server does: the same path gate, authorization from the same
 * settings, a cache of its own. It lives as long as the service process: it
 * drains when the service says so or stops when the IPC channel closes, and
 * leaves signals (a terminal's Ctrl-C reaches the whole group) to the service.
 */
import { Config } from '../../libs/config/config.js';
import { createLogger } from '../../libs/log.js';
import { openFileServerAccess } from './auth.js';
import { startFileHttpServer } from './http.js';
import type { FromHttpWorker, ToHttpWorker } from './http-workers.js';
import { fileHttpSettings, fileStoreOptions } from './settings.js';
import { openFileStore } from './store.js';

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => { /* the service drains us */ });

const first = await new Promise<ToHttpWorker>((resolve) => {
  process.once('message', resolve);
  process.send!({ type: 'settings?' } satisfies FromHttpWorker);
});
if (first.type !== 'settings') throw new Error('an HTTP process needs its settings first');
const config = Config.load({ text: first.ini, env: {} });
const logger = createLogger('fileserver', config.getProperty('Log', 'level', 'str', 'info')).child({ component: 'http', pid: process.pid });
try {
  const settings = fileHttpSettings(config);
  const store = await openFileStore(fileStoreOptions(config));
  const access = await openFileServerAccess(config, logger);
  const web = await startFileHttpServer({
    root: store.root, host: settings.host, port: settings.port, cacheBytes: settings.cacheBytes, authorize: access.authorize, logger,
  });
  let stopping: Promise<void> | undefined;
  const stop = (deadlineMs: number) => {
    stopping ??= (async () => {
      await web.close(deadlineMs);
      await access.close();
      process.exit(0);
    })();
  };
  process.on('message', (message: ToHttpWorker) => { if (message.type === 'shutdown') stop(message.deadlineMs); });
  process.on('disconnect', () => stop(0));
} catch (err) {
  logger.error({ err }, 'HTTP process failed to start');
  process.exit(1);
}
