import { test } from 'node:test';
import assert from 'node:assert/strict';
import { context, trace } from '@opentelemetry/api';
import { traceIds } from '../../libs/log.js';
import { startTelemetry, tracingRequested } from '../../libs/telemetry/sdk.js';
import { tracer } from '../../libs/telemetry/tracer.js';
import { logger } from './mesh.js';

test('the OTEL_* variables switch tracing on; it is off by default', () => {
  assert.equal(tracingRequested({}), false);
  assert.equal(tracingRequested({ OTEL_TRACES_EXPORTER: 'otlp' }), true);
  assert.equal(tracingRequested({ OTEL_TRACES_EXPORTER: 'none' }), false);
  assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), true);
  assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }), true);
  assert.equal(tracingRequested({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }), false);
});

/** A span of the mesh's tracer, left open (nothing to export), and the log ids while it is active. */
function probe(): { recording: boolean; spanIds: { traceId: string; spanId: string }; logIds: object } {
  const span = tracer.startSpan('probe');
  const logIds = context.with(trace.setSpan(context.active(), span), traceIds);
  return { recording: span.isRecording(), spanIds: span.spanContext(), logIds };
}

test('off, spans do not record and log lines carry no ids; on, spans record and log lines carry their trace', async () => {
  const off = await startTelemetry('test', logger);
  const before = probe();
  assert.equal(before.recording, false);
  assert.deepEqual(before.logIds, {});
  await off.shutdown();

  process.env.OTEL_TRACES_EXPORTER = 'console';
  const on = await startTelemetry('test', logger);
  try {
    const after = probe();
    assert.equal(after.recording, true);
    assert.deepEqual(after.logIds, { trace_id: after.spanIds.traceId, span_id: after.spanIds.spanId });
  } finally {
    delete process.env.OTEL_TRACES_EXPORTER;
    await on.shutdown();
  }
});
