/**
 * The FileServer as deployed, for the HTTP load test: started from settings,
 * authorizing every request (signed URLs with the key in env
 * BENCH_URL_SIGNING_KEY; no database, so no tokens), until SIGINT/SIGTERM.
 *
 *   node --import tsx bench/fileserver/serve-http.ts <root> <http port> [http_processes=1] [http_cache_bytes=catalog default]
 */
import { defaultOf } from '../../libs/config/catalog.js';
import { Config } from '../../libs/config/config.js';
import { createLogger } from '../../libs/log.js';
import { onShutdownSignals } from '../../libs/service/runtime.js';
import { startFileServer } from '../../services/fileserver/main.js';

const [root, port, processes = '1', cacheBytes = String(defaultOf('FileServer', 'http_cache_bytes'))] = process.argv.slice(2);
const key = process.env.BENCH_URL_SIGNING_KEY;
if (!root || !port || !key) throw new Error('usage: BENCH_URL_SIGNING_KEY=... serve-http.ts <root> <port> [processes] [cache bytes]');
const logger = createLogger('bench-fileserver', 'warn');
const service = await startFileServer(Config.load({
  text: '',
  env: {
    AIDE_SECURITY_PLAINTEXT: 'true', AIDE_FILESERVER_ROOT: root, AIDE_FILESERVER_HOST: '127.0.0.1', AIDE_FILESERVER_PORT: '0',
    AIDE_FILESERVER_HTTP_PORT: port, AIDE_FILESERVER_HTTP_PROCESSES: processes, AIDE_FILESERVER_HTTP_CACHE_BYTES: cacheBytes,
    AIDE_FILESERVER_URL_SIGNING_KEY: key, AIDE_LOG_LEVEL: 'warn',
  },
}), logger);
onShutdownSignals(() => service.shutdown(1000), logger);
console.log(`listening on ${service.addresses.http} (${processes} HTTP processes, cache ${cacheBytes} bytes)`);
