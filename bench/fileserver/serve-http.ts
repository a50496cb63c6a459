/**
 * The FileServer's HTTP edge alone, for the load test: serves <root> on PORT
 * until killed.  node --import tsx bench/fileserver/serve-http.ts <root> <port>
 */
import { startFileHttpServer } from '../../services/fileserver/http.js';
import { openFileStore } from '../../services/fileserver/store.js';

const [root, port] = process.argv.slice(2);
const store = await openFileStore({ root: root! });
const web = await startFileHttpServer({ root: store.root, host: '127.0.0.1', port: Number(port) });
console.log(`listening on ${web.port}`);
