/** RankerService handlers: plain functions over the plugin registry. */
import type { ServiceHandlers } from '../../libs/grpc/index.js';
import { RankerServiceService } from '../../libs/gen/aide/v1/ranker.js';
import { pluginInfo } from '../../libs/wire/plugin-info.js';
import { rankStream, type RankStreamDeps } from './rank-stream.js';

export function rankerHandlers(deps: RankStreamDeps): ServiceHandlers<typeof RankerServiceService> {
  return {
    rank: (requests, ctx) => rankStream(requests, ctx.signal, deps),
    listRankers: async () => ({ rankers: [...deps.registry.rankers.values()].map((e) => pluginInfo(e.meta)) }),
  };
}
