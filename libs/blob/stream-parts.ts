import { invalidArgument } from '../errors.js';
import type { BlobChunk } from '../gen/aide/v1/common.js';

/** Picks a part out of a message, or undefined when the message is not of that kind. */
export type Selector<M, T> = (message: M) => T | undefined;

/** A ts-proto oneof member: `{ $case: 'header', value: JobHeader }`. */
export interface OneofCase {
  $case: string;
  value: unknown;
}

/** The value of case C of oneof P. */
export type CaseValue<P, C extends string> = Extract<P, { $case: C }> extends { value: infer V } ? V : never;

/**
 * Selector of one case of a message's `payload` oneof (the shape ts-proto
 * generates with oneof=unions): `payload('header')` on a PutFileRequest yields
 * its PutFileHeader, `payload('chunk')` its BlobChunk; other messages yield undefined.
 */
export function payload<C extends string>(name: C) {
  return <P extends OneofCase>(
    message: { payload?: P | undefined } & (C extends P['$case'] ? unknown : { [K in `no case ${C} in this oneof`]: never }),
  ): CaseValue<P, C> | undefined =>
    message.payload?.$case === name ? (message.payload.value as CaseValue<P, C>) : undefined;
}

/**
 * Reads a stream of messages in parts: single messages (a header) and runs of
 * consecutive chunk messages, each run an AsyncIterable<BlobChunk> for
 * verifyChunks / collectBlob. One iterator over the source is shared by all
 * parts; a run ends (without consuming it) at the first message of another
 * kind, which the next take() / chunks() then sees.
 *
 *   const parts = new StreamParts(requests);           // AsyncIterable<PutFileRequest>
 *   const header = await parts.take(payload('header'), 'header');
 *   const data = await collectBlob(parts.chunks(payload('chunk')), { maxSize });
 *   await parts.end();
 *
 * Not for concurrent use: finish one part before starting the next. Never
 * closes the source (see verifyChunks): its owner ends it.
 */
export class StreamParts<M> {
  readonly #it: AsyncIterator<M>;
  #head: IteratorResult<M> | undefined;

  constructor(source: AsyncIterable<M>) {
    this.#it = source[Symbol.asyncIterator]();
  }

  /** The next message, left in place; undefined at the end of the stream. */
  async peek(): Promise<M | undefined> {
    this.#head ??= await this.#it.next();
    return this.#head.done ? undefined : this.#head.value;
  }

  /** Takes the next message; undefined at the end of the stream. */
  async next(): Promise<M | undefined> {
    const message = await this.peek();
    if (message !== undefined) this.#head = undefined;
    return message;
  }

  /** Takes the next message, which must be of the selected kind (else INVALID_ARGUMENT naming `what`). */
  async take<T>(select: Selector<M, T>, what = 'message'): Promise<T> {
    const message = await this.peek();
    if (message === undefined) throw invalidArgument(`stream ended where a ${what} was expected`);
    const part = select(message);
    if (part === undefined) throw invalidArgument(`expected a ${what}, got another message`);
    this.#head = undefined;
    return part;
  }

  /**
   * The selected chunks of the consecutive messages that have one. Stopping the
   * iteration early (as verifyChunks does after a blob's last chunk) leaves the
   * stream open for the next part.
   */
  async *chunks(select: Selector<M, BlobChunk>): AsyncGenerator<BlobChunk> {
    for (;;) {
      const message = await this.peek();
      if (message === undefined) return;
      const chunk = select(message);
      if (chunk === undefined) return;
      this.#head = undefined;
      yield chunk;
    }
  }

  /** Checks that the stream has ended (INVALID_ARGUMENT naming `after` if a message follows). */
  async end(after = 'the last part'): Promise<void> {
    if ((await this.peek()) !== undefined) throw invalidArgument(`unexpected message after ${after}`);
  }
}
