import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { isAideError } from '../../libs/errors.js';
import { FileServiceService } from '../../libs/gen/aide/v1/fileserver.js';
import { createClient, startServer, tracing } from '../../libs/grpc/index.js';
import { inSpan } from '../../libs/telemetry/tracer.js';
import { fileServiceEntry } from '../../services/fileserver/service.js';
import { openFileStore } from '../../services/fileserver/store.js';
import { inMemoryTracing } from './in-memory-tracing.js';
import { logger } from './mesh.js';

const exporter = inMemoryTracing();

test('an RPC is a client span and a server span of the caller\'s trace, failed with its status code', async (t) => {
  const store = await openFileStore({ root: mkdtempSync(join(tmpdir(), 'aide-grpc-tracing-')) });
  const server = await startServer({ name: 'fileserver', host: '127.0.0.1', port: 0, reflection: false, logger, services: [fileServiceEntry(store, { middleware: [tracing()] })] });
  const client = createClient(FileServiceService, server.address);
  t.after(async () => { client.close(); await server.shutdown(1000); });

  const caller = await inSpan('caller', {}, async (span) => {
    await assert.rejects(client.statFile({ project: 'p', path: 'missing.txt' }), (err) => isAideError(err, 'NOT_FOUND'));
    return span.spanContext();
  });
  const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === caller.traceId);
  const clientSpan = spans.find((s) => s.kind === SpanKind.CLIENT);
  const serverSpan = spans.find((s) => s.kind === SpanKind.SERVER);
  assert.ok(clientSpan && serverSpan, 'both sides traced in the caller\'s trace');
  assert.equal(clientSpan.name, 'aide.v1.FileService/StatFile');
  assert.equal(clientSpan.parentSpanContext?.spanId, caller.spanId);
  assert.equal(serverSpan.parentSpanContext?.spanId, clientSpan.spanContext().spanId);
  for (const s of [clientSpan, serverSpan]) {
    assert.equal(s.attributes['rpc.grpc.status_code'], grpc.status.NOT_FOUND);
    assert.equal(s.status.code, SpanStatusCode.ERROR);
    assert.equal(s.attributes['rpc.service'], 'aide.v1.FileService');
  }
});
