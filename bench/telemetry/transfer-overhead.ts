/**
 * What telemetry costs while tracing is off: a SIZE-byte model state goes to
 * a worker and back (train with the fixture model's echo) over loopback gRPC,
 * ROUNDS times each, alternating between a worker served and called with the
 * telemetry middleware and client interceptor (no SDK: the no-op API) and one
 * without them. Prints the medians and their ratios as JSON: wall time, and
 * the CPU time of this process (client and server both run here), which other
 * load on a shared machine disturbs far less than wall time. Then the cost
 * per call, which the transfer hides in its noise: BATCHES × 500 small unary
 * calls (GetCapabilities) per variant, alternating, in µs per call.
 *
 *   node --import tsx bench/telemetry/transfer-overhead.ts [size=200000000] [rounds=5] [batches=7]
 */
import { randomFillSync } from 'node:crypto';
import { MemoryBus, PublishQueue } from '../../libs/bus/index.js';
import { Config } from '../../libs/config/config.js';
import { WorkerServiceService } from '../../libs/gen/aide/v1/worker.js';
import { implement, logging, startServer, tracing, type Middleware } from '../../libs/grpc/index.js';
import { createLogger } from '../../libs/log.js';
import { noDatabase, noFiles } from '../../libs/plugin/probe.js';
import { loadRegistry } from '../../libs/plugin/registry.js';
import { rpcMetrics } from '../../libs/telemetry/rpc-metrics.js';
import { train, workerClient } from '../../libs/worker-client/worker-client.js';
import { workerHandlers } from '../../services/worker/handlers.js';
import { JobSlots } from '../../services/worker/slots.js';
import { FixtureModel } from '../../test/support/fixture-model.js';

const size = Number(process.argv[2] ?? 200_000_000);
const rounds = Number(process.argv[3] ?? 5);
const batches = Number(process.argv[4] ?? 7);
const CALLS_PER_BATCH = 500;

const logger = createLogger('bench', 'silent');
const bus = new MemoryBus();
const registry = await loadRegistry({ builtins: [FixtureModel], logger });
const deps = {
  workerId: 'bench', registry, progress: new PublishQueue(bus, { logger }), logger, config: Config.load({ text: '', env: {} }), dbConnector: noDatabase,
  fileSource: () => noFiles, maxStateBytes: 2 * size, stateFolder: async () => undefined, backend: { name: 'cpu', gpu: false },
};

/** A worker served with these middleware, and a client of it with or without the tracing interceptor. */
async function setup(middleware: Middleware[], clientTracing: boolean) {
  const server = await startServer({
    name: 'worker', host: '127.0.0.1', port: 0, reflection: false, logger,
    services: [{
      name: 'aide.v1.WorkerService', definition: WorkerServiceService,
      implementation: implement(WorkerServiceService, workerHandlers({ ...deps, slots: new JobSlots(1) }), { middleware }),
    }],
  });
  return { server, client: workerClient(server.address, { tracing: clientTracing }) };
}

const variants = {
  off: await setup([logging(logger)], false),
  on: await setup([tracing(), rpcMetrics(), logging(logger)], true),
};

const state = randomFillSync(Buffer.allocUnsafe(size));
const header = (jobId: string) => ({
  jobId, project: 'bench', modelLibrary: 'test.fixture', modelOptionsJson: JSON.stringify({ echo: true, steps: 1 }),
  annotationType: 2, predictionType: 2, ignoreUnlabeled: false, traceparent: '', labelClasses: [],
});

interface Timing { wall: number; cpu: number }

async function roundTrip(variant: keyof typeof variants, round: number): Promise<Timing> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const out = await train(variants[variant].client, header(`${variant}-${round}`), [], state);
  const cpu = process.cpuUsage(cpu0);
  const timing = { wall: (performance.now() - t0) / 1000, cpu: (cpu.user + cpu.system) / 1e6 };
  if (out.state.length !== size) throw new Error(`state of ${out.state.length} bytes came back, ${size} sent`);
  return timing;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const times: Record<keyof typeof variants, Timing[]> = { off: [], on: [] };
await roundTrip('off', -1); // warm-up: JIT, first connections
await roundTrip('on', -1);
for (let round = 0; round < rounds; round++) {
  // Alternating spreads drift of the machine evenly over both variants.
  for (const variant of round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) times[variant].push(await roundTrip(variant, round));
}
const seconds = (ts: Timing[], key: keyof Timing) => ts.map((t) => +t[key].toFixed(3));
const summary = (ts: Timing[]) => ({
  medianWallSeconds: median(seconds(ts, 'wall')), mbPerSecond: Math.round((2 * size) / median(seconds(ts, 'wall')) / 1e6),
  medianCpuSeconds: median(seconds(ts, 'cpu')), wallSeconds: seconds(ts, 'wall'), cpuSeconds: seconds(ts, 'cpu'),
});

async function microsecondsPerCall(variant: keyof typeof variants): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < CALLS_PER_BATCH; i++) await variants[variant].client.getCapabilities({});
  return ((performance.now() - t0) * 1000) / CALLS_PER_BATCH;
}
const perCall: Record<keyof typeof variants, number[]> = { off: [], on: [] };
for (let batch = 0; batch <= batches; batch++) {
  for (const variant of batch % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
    const us = await microsecondsPerCall(variant);
    if (batch > 0) perCall[variant].push(+us.toFixed(1)); // batch 0 warms up
  }
}

const off = summary(times.off);
const on = summary(times.on);
console.log(JSON.stringify({
  bytesEachWay: size, rounds, off, on,
  wallRatioOnToOff: +(on.medianWallSeconds / off.medianWallSeconds).toFixed(3),
  cpuRatioOnToOff: +(on.medianCpuSeconds / off.medianCpuSeconds).toFixed(3),
  unaryMicrosecondsPerCall: { off: median(perCall.off), on: median(perCall.on), offBatches: perCall.off, onBatches: perCall.on },
}));
for (const { server, client } of Object.values(variants)) {
  client.close();
  await server.shutdown(1000);
}
await bus.close();
