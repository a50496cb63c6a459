import { tracer, recordFailure } from '../../libs/telemetry/tracer.js';
import { fileServerReadBytes } from '../../libs/telemetry/metrics.js';
import type { BlobChunk } from '../../libs/gen/aide/v1/common.js';

type ChunkedResponse = { payload?: { $case: string; value: unknown } | undefined };

const chunkBytes = (response: ChunkedResponse): number =>
  response.payload?.$case === 'chunk' ? (response.payload.value as BlobChunk).data.length : 0;

/**
 * A read's response stream, unchanged, inside a `fileserver <method>` span
 * that records the file and the bytes sent; the bytes also count in
 * aide_fileserver_read_bytes_total.
 */
export async function* observedRead<R extends ChunkedResponse>(
  method: 'getFile' | 'readImage', file: { project: string; path: string }, responses: AsyncIterable<R>,
): AsyncGenerator<R> {
  // Not an active span: nothing the read calls is traced, and a generator cannot hold a context across yields.
  const span = tracer.startSpan(`fileserver ${method}`, { attributes: { 'aide.project': file.project, 'aide.file.path': file.path } });
  let bytes = 0;
  try {
    for await (const response of responses) {
      bytes += chunkBytes(response);
      yield response;
    }
  } catch (err) {
    recordFailure(span, err);
    throw err;
  } finally {
    span.setAttribute('aide.file.bytes_sent', bytes);
    fileServerReadBytes.inc({ method }, bytes);
    span.end();
  }
}
