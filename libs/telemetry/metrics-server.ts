import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics } from 'prom-client';
import type { Config } from '../config/config.js';
import { bindPort } from '../config/setting-error.js';
import type { Logger } from '../log.js';
import { registry } from './metrics.js';

export interface MetricsServer {
  /** host:port Prometheus scrapes (GET /metrics). */
  address: string;
  close(): Promise<void>;
}

let processMetrics = false;

/** A small HTTP server answering GET /metrics in the Prometheus text format; anything else is 404. */
export async function startMetricsServer(opts: { host: string; port: number; logger: Logger }): Promise<MetricsServer> {
  if (!processMetrics) {
    // CPU, memory, event-loop lag and GC of this process, once however many services it runs.
    collectDefaultMetrics({ register: registry });
    processMetrics = true;
  }
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => {
        opts.logger.warn({ err }, 'collecting metrics failed');
        res.writeHead(500).end();
      },
    );
  });
  server.listen(opts.port, opts.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const address = `${opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host}:${port}`;
  opts.logger.info({ address }, 'metrics listening');
  return {
    address,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** The endpoint `[<section>] metrics_port` asks for (0 = any free port) on the section's host; none while it is unset. */
export async function metricsFromConfig(config: Config, section: string, logger: Logger): Promise<MetricsServer | undefined> {
  const port = config.getProperty(section, 'metrics_port', 'int', undefined);
  if (port === undefined) return undefined;
  const host = config.getProperty(section, 'host', 'str', '0.0.0.0');
  return bindPort({ section, key: 'metrics_port', host, port }, () => startMetricsServer({ host, port, logger }));
}
