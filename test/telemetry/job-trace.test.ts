import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind } from '@opentelemetry/api';
import type { InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { BusEvent } from '../../libs/bus/index.js';
import { JobState } from '../../libs/gen/aide/v1/common.js';
import { busTargets } from '../support/nats.js';
import { ancestry, inMemoryTracing, traceIdOf } from './in-memory-tracing.js';
import { IMAGE_BYTES, IMAGES, PROJECT, queueTrainingJob, startMesh } from './mesh.js';

const exporter = inMemoryTracing();

async function collect(events: AsyncIterable<BusEvent>): Promise<BusEvent[]> {
  const out: BusEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

/** The job's root span: it ends just after the job's last event, so it is waited for. */
async function jobSpan(spans: InMemorySpanExporter, jobId: string): Promise<ReadableSpan> {
  for (const deadline = Date.now() + 5000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
    const root = spans.getFinishedSpans().find((s) => s.name === 'job train' && s.attributes['aide.job.id'] === jobId);
    if (root) return root;
  }
  throw new Error(`no span of job ${jobId}`);
}

const named = (spans: readonly ReadableSpan[], name: string, kind?: SpanKind) =>
  spans.filter((s) => s.name === name && (kind === undefined || s.kind === kind));

for (const target of await busTargets()) {
  test(`one distributed training job is one trace, and its progress events carry it (${target.name} bus)`, { timeout: 180_000 }, async (t) => {
    if (target.skipReason) return t.skip(target.skipReason);
    const bus = await target.open();
    t.after(() => bus.dispose());
    const mesh = await startMesh(t, bus);
    const job = await queueTrainingJob(mesh.db);
    const jobEvents = collect(bus.watch(PROJECT, job.id));
    const shardEvents = collect(bus.watch(PROJECT, `${job.id}-s0`));
    await mesh.runner.start();
    const events = await jobEvents;
    assert.equal(events.at(-1)?.event.state, JobState.JOB_STATE_SUCCEEDED, events.at(-1)?.event.message);

    const root = await jobSpan(exporter, job.id);
    const traceId = root.spanContext().traceId;
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);

    await t.test('every span of the trace hangs off the job span', () => {
      assert.equal(root.parentSpanContext, undefined);
      const ids = new Set(spans.map((s) => s.spanContext().spanId));
      for (const s of spans.filter((x) => x !== root)) assert.ok(s.parentSpanContext && ids.has(s.parentSpanContext.spanId), `${s.name} has its parent in the trace`);
    });

    await t.test('it holds the orchestration phases, both workers and every FileServer read', () => {
      assert.equal(named(spans, 'gather').length, 1);
      assert.equal(named(spans, 'train shard').length, 2);
      assert.equal(named(spans, 'average').length, 1);
      assert.equal(named(spans, 'aide.v1.WorkerService/Train', SpanKind.SERVER).length, 2);
      assert.equal(named(spans, 'aide.v1.WorkerService/AverageStates', SpanKind.SERVER).length, 1);
      const trainWork = named(spans, 'model work').filter((s) => ancestry(s, spans).includes('train shard'));
      assert.deepEqual(trainWork.map((s) => s.attributes['aide.worker']).sort(), ['w1', 'w2'], 'each worker trained one shard');

      const reads = named(spans, 'fileserver getFile');
      assert.deepEqual(reads.map((s) => s.attributes['aide.file.path']).sort(), IMAGES);
      for (const read of reads) {
        assert.equal(read.attributes['aide.file.bytes_sent'], IMAGE_BYTES);
        assert.deepEqual(ancestry(read, spans), [
          'fileserver getFile', 'aide.v1.FileService/GetFile (server)', 'aide.v1.FileService/GetFile (client)', 'model work',
          'aide.v1.WorkerService/Train (server)', 'aide.v1.WorkerService/Train (client)', 'train shard', 'gather', 'job train',
        ]);
      }
    });

    await t.test('progress events of the job and of its shards carry its trace context', async () => {
      const shard = await shardEvents;
      assert.ok(shard.length > 0 && events.length > 0);
      for (const e of [...events, ...shard]) assert.equal(traceIdOf(e.headers.traceparent), traceId, `event ${e.event.seq} of ${e.event.jobId}`);
    });
  });
}
