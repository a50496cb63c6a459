import { tracer, recordFailure } from '../../libs/telemetry/tracer.js';
import { fileServerReadBytes } from '../../libs/telemetry/metrics.js';
import type { BlobChunk } from '../../libs/gen/aide/v1/common.js';
import type { ReadImagesResponse } from '../../libs/gen/aide/v1/fileserver.js';

type ChunkedResponse = { payload?: { $case: string; value: unknown } | undefined };

/** The file bytes a GetFile or ReadImage answer carries. */
export const chunkBytes = (response: ChunkedResponse): number =>
  response.payload?.$case === 'chunk' ? (response.payload.value as BlobChunk).data.length : 0;

/** The pixel bytes a ReadImages answer carries. */
export const pixelBytes = (response: ReadImagesResponse): number =>
  response.images.reduce((sum, image) => sum + image.pixels.byteLength, 0);

/**
 * A read's response stream, unchanged, inside a `fileserver <method>` span
 * that records what was read (project, path or count) and the bytes sent;
 * the bytes also count in aide_fileserver_read_bytes_total.
 */
export async function* observedRead<R>(
  method: 'getFile' | 'readImage' | 'readImages', attributes: Record<string, string | number>,
  responses: AsyncIterable<R>, bytesOf: (response: R) => number,
): AsyncGenerator<R> {
  // Not an active span: nothing the read calls is traced, and a generator cannot hold a context across yields.
  const span = tracer.startSpan(`fileserver ${method}`, { attributes });
  let bytes = 0;
  try {
    for await (const response of responses) {
      bytes += bytesOf(response);
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
