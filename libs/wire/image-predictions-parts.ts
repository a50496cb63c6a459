/**
 * One image's predictions on a stream of messages capped at 4 MB. Most fit in
 * one message; the segmentation maps of a large image do not (label and
 * confidence maps take 5 bytes a pixel, per-class maps 4 more per class), so
 * such an image travels as the encoding of its ImagePredictions in chunks,
 * checksummed and reassembled like a model state.
 */
import { collectBlob, MAX_CHUNK_SIZE, StreamParts, toChunks, type Selector } from '../blob/index.js';
import { ImagePredictions, type BlobChunk } from '../gen/aide/v1/common.js';

/**
 * Largest encoded image sent whole: the message around it adds a few bytes. Chunks are as large as the
 * limit allows too, so an image of N bytes takes ⌈N / MAX_CHUNK_SIZE⌉ messages.
 */
const MAX_WHOLE_BYTES = MAX_CHUNK_SIZE;

/**
 * Largest image reassembled (RESOURCE_EXHAUSTED beyond): a map is stored as one Postgres value, and no
 * value may exceed 1 GB.
 */
export const MAX_IMAGE_PREDICTIONS_BYTES = 1024 ** 3;

/**
 * An upper bound on the bytes of an ImagePredictions' encoding, without
 * encoding it: strings at 3 bytes a UTF-16 unit, numbers at 10 (with tags and
 * lengths), maps as their bytes plus a little.
 */
export function encodedSizeBound(image: ImagePredictions): number {
  let n = 16 + 3 * image.imageId.length;
  for (const p of image.predictions) {
    n += 96 + 3 * (p.id.length + p.imageId.length + p.modelStateId.length + p.labelClassId.length) + 10 * p.logits.length;
    const g = p.geometry;
    if (g?.$case === 'segmentation') n += g.value.labelMap.length + g.value.confidenceMap.length + g.value.logitsMap.length + 32;
  }
  return n;
}

/** Whether an image surely fits one message whole, by encodedSizeBound (without encoding it; pass the bound if known). */
export const surelyFitsWhole = (image: ImagePredictions, bound = encodedSizeBound(image)): boolean => bound <= MAX_WHOLE_BYTES;

/** A list of images is cut where its encodedSizeBound would pass this (a single image may exceed it, up to a message). */
const LIST_BYTES = 1 << 20;

/**
 * Consecutive whole images gathered into lists (ImagePredictionsList) of at most `maxImages` and LIST_BYTES:
 * one message for many small images costs far less to send and to read than one each. Whatever travels
 * otherwise (an image in chunks, an unreadable one) keeps its place: the caller takes the list gathered so far
 * and sends it first. StreamPredictions and a worker's inference stream gather alike.
 */
export class ImageLists {
  #images: ImagePredictions[] = [];
  #bytes = 0;

  constructor(private readonly maxImages = Infinity) {}

  /** Adds a whole image (`bound`: its encodedSizeBound); the list to send first when it would overflow. */
  add(image: ImagePredictions, bound = encodedSizeBound(image)): ImagePredictions[] | undefined {
    const full = this.#images.length > 0 && (this.#images.length >= this.maxImages || this.#bytes + bound > LIST_BYTES) ? this.take() : undefined;
    this.#images.push(image);
    this.#bytes += bound;
    return full;
  }

  /** The images gathered so far, undefined when none; a new list begins. */
  take(): ImagePredictions[] | undefined {
    if (this.#images.length === 0) return undefined;
    const images = this.#images;
    this.#images = [];
    this.#bytes = 0;
    return images;
  }
}

/**
 * The oneof payloads to send for one image, in order: `whole` (the case that
 * holds an ImagePredictions) if it fits a message, else `chunk` (the case that
 * holds a BlobChunk) for each piece of its encoding.
 */
export async function* imagePredictionsPayloads<W extends string, C extends string>(
  image: ImagePredictions, whole: W, chunk: C,
): AsyncGenerator<{ $case: W; value: ImagePredictions } | { $case: C; value: BlobChunk }> {
  // Encoded here only where it may not fit: gRPC encodes a whole image anyway.
  if (surelyFitsWhole(image)) {
    yield { $case: whole, value: image };
    return;
  }
  const encoded = ImagePredictions.encode(image).finish();
  if (encoded.byteLength <= MAX_WHOLE_BYTES) {
    yield { $case: whole, value: image };
    return;
  }
  for await (const piece of toChunks(encoded, { chunkSize: MAX_CHUNK_SIZE })) yield { $case: chunk, value: piece };
}

/** How to find the parts in a stream's messages. */
export interface ImagePredictionsSelectors<M> {
  whole: Selector<M, ImagePredictions>;
  chunk: Selector<M, BlobChunk>;
}

/** An image read back whole, or a message of another kind (progress, a header), as it came. */
export type ImageOrMessage<M> = { image: ImagePredictions } | { message: M };

/**
 * Reads such a stream: images whole (a run of chunks verified, against its
 * checksum too, and decoded; DATA_LOSS when broken, RESOURCE_EXHAUSTED when
 * over MAX_IMAGE_PREDICTIONS_BYTES) and every other message in its place.
 * With `close`, the stream is closed however the reading ends (a client's
 * response stream: stopping early cancels the call); without, it is left to
 * its owner (a server's request stream, which must stay open for the status).
 */
export async function* readImagePredictions<M>(
  messages: AsyncIterable<M>, select: ImagePredictionsSelectors<M>, opts: { signal?: AbortSignal; close?: boolean } = {},
): AsyncGenerator<ImageOrMessage<M>> {
  const source = messages[Symbol.asyncIterator]();
  const parts = new StreamParts({ [Symbol.asyncIterator]: () => source });
  try {
    for (let message = await parts.peek(); message !== undefined; message = await parts.peek()) {
      if (select.chunk(message) !== undefined) {
        const encoded = await collectBlob(parts.chunks(select.chunk), { maxSize: MAX_IMAGE_PREDICTIONS_BYTES, signal: opts.signal });
        yield { image: ImagePredictions.decode(encoded) };
        continue;
      }
      await parts.next();
      const whole = select.whole(message);
      yield whole ? { image: whole } : { message };
    }
  } finally {
    if (opts.close) await source.return?.();
  }
}
