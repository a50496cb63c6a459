/**
 * A push-fed async iterator: producers `push`, `end` or `fail`; the consumer
 * iterates. `onClose` runs exactly once when it ends for any reason (end,
 * failure, consumer's return(), abort), so the producer can release resources.
 */
export class Channel<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private readonly waiters: Array<{ resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }> = [];
  private finished = false;
  private error: unknown = undefined;
  private failed = false;
  private closed = false;

  constructor(private readonly onClose: () => void = () => {}) {}

  get isDone(): boolean {
    return this.finished;
  }

  push(value: T): void {
    if (this.finished) return;
    const w = this.waiters.shift();
    if (w) w.resolve({ value, done: false });
    else this.queue.push(value);
  }

  /** Ends after the queued values were taken. */
  end(): void {
    if (this.finished) return;
    this.finished = true;
    this.flushWaiters();
    this.runClose();
  }

  /** Ends with an error, thrown after the queued values were taken. */
  fail(err: unknown): void {
    if (this.finished) return;
    this.failed = true;
    this.error = err;
    this.end();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.finished) {
      if (this.failed) {
        this.failed = false; // throw once, then plain done
        return Promise.reject(this.error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** The consumer stops: drop what is queued and release. */
  return(): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.failed = false;
    this.finished = true;
    this.flushWaiters();
    this.runClose();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private flushWaiters(): void {
    while (this.waiters.length > 0 && this.queue.length === 0) {
      const w = this.waiters.shift()!;
      if (this.failed) {
        this.failed = false;
        w.reject(this.error);
      } else {
        w.resolve({ value: undefined, done: true });
      }
    }
  }

  private runClose(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.onClose();
    } catch {
      // cleanup must not throw into the iteration
    }
  }
}
