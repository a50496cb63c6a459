import { fileURLToPath } from 'node:url';
import type { Config } from '../../libs/config/config.js';
import { implement, logging, tracing } from '../../libs/grpc/index.js';
import { RankerServiceService } from '../../libs/gen/aide/v1/ranker.js';
import type { Logger } from '../../libs/log.js';
import type { DbConnectorLike, FileSource } from '../../libs/plugin/context.js';
import { noDatabase, noFiles } from '../../libs/plugin/probe.js';
import { loadRegistry, type Registry } from '../../libs/plugin/registry.js';
import { runService, type RunningService } from '../../libs/service/runtime.js';
import { serveFromConfig } from '../../libs/service/serve.js';
import { meshOnlyMiddleware } from '../../libs/service/mesh-access.js';
import { listSetting } from '../../libs/service/settings.js';
import { metricsFromConfig } from '../../libs/telemetry/metrics-server.js';
import { rpcMetrics } from '../../libs/telemetry/rpc-metrics.js';
import { withTelemetry } from '../../libs/telemetry/sdk.js';
import { rankerHandlers } from './service.js';

export interface RankerDeps {
  /** Default: built-ins plus [Models] extra. */
  registry?: Registry;
  /** For rankers that query the project database; default: none (queries fail). */
  dbConnector?: DbConnectorLike;
  /** For rankers that read project files; default: none (files read as missing). */
  fileServerFor?: (project: string) => FileSource;
  batchImages?: number;
}

/** Ranker service: config → registry → serve RankerService. */
export async function startRanker(config: Config, logger: Logger, deps: RankerDeps = {}): Promise<RunningService & { address: string }> {
  const registry = deps.registry ?? await loadRegistry({ extra: listSetting(config, 'Models', 'extra'), config, logger });
  const handlers = rankerHandlers({
    registry,
    batchImages: deps.batchImages,
    contextFor: (project) => ({ project, config, dbConnector: deps.dbConnector ?? noDatabase, fileServer: deps.fileServerFor?.(project) ?? noFiles }),
  });
  const { server, drainDeadlineMs } = await serveFromConfig({
    name: 'ranker',
    section: 'Ranker',
    defaultPort: 50054,
    config,
    logger,
    services: (shutdownSignal) => [{
      name: 'aide.v1.RankerService',
      definition: RankerServiceService,
      implementation: implement(RankerServiceService, handlers, { middleware: [tracing(), rpcMetrics(), logging(logger), ...meshOnlyMiddleware(config)], shutdownSignal }),
    }],
  });
  const metrics = await metricsFromConfig(config, 'Ranker', logger);
  return {
    name: 'ranker', address: server.address, addresses: { grpc: server.address, ...(metrics && { metrics: metrics.address }) }, drainDeadlineMs,
    async shutdown(deadlineMs) {
      await server.shutdown(deadlineMs);
      await metrics?.close();
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runService('ranker', withTelemetry('ranker', startRanker));
