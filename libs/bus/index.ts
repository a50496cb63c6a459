export * from './bus.js';
export * from './subjects.js';
export { MemoryBus, type MemoryBusOptions } from './memory-bus.js';
export { PublishQueue, dropSuperseded, type ProgressPublisher, type PublishQueueOptions } from './publish-queue.js';
export { NatsBus, type NatsBusOptions, ensureStream, progressStreamConfig } from './nats-bus.js';

import type { EventBus } from './bus.js';
import { MemoryBus } from './memory-bus.js';
import { NatsBus } from './nats-bus.js';

export interface CreateBusOptions {
  /** NATS server(s); without it the bus is in-process (embedded demo). */
  natsUrl?: string;
  /** JetStream stream name; default derived from the prefix ('aide' → 'AIDE_PROGRESS'). */
  stream?: string;
  /** Subject prefix; default 'aide'. */
  subjectPrefix?: string;
}

/** NATS JetStream when a URL is configured, else the in-process bus. */
export async function createBus(opts: CreateBusOptions = {}): Promise<EventBus> {
  if (opts.natsUrl && opts.natsUrl.trim() !== '') {
    return NatsBus.connect({ natsUrl: opts.natsUrl, stream: opts.stream, subjectPrefix: opts.subjectPrefix });
  }
  return new MemoryBus();
}
