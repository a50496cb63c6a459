import { runService, type ServiceStarter } from '../libs/service/runtime.js';

/** `npm run service -- <name>`: one deployable per process. */
const starters: Record<string, () => Promise<ServiceStarter>> = {
  controller: async () => (await import('./controller/main.js')).startController,
  worker: async () => (await import('./worker/main.js')).startWorker,
  fileserver: async () => (await import('./fileserver/main.js')).startFileServer,
  ranker: async () => (await import('./ranker/main.js')).startRanker,
};

const [name, ...rest] = process.argv.slice(2);
const load = name ? starters[name] : undefined;
if (!load) {
  process.stderr.write(`Usage: npm run service -- <${Object.keys(starters).join('|')}> [--help]\n`);
  process.exit(name === '--help' || name === '-h' ? 0 : 2);
}
await runService(name!, await load(), rest);
