/**
 * A two-stage pipeline, one item ahead: the first stage of item k + 1 runs
 * while the second stage of item k does, results in order. Built-in
 * inference reads the next chunk of images (FileServer ReadImages) while the
 * network predicts the current one; memory holds two items' first-stage
 * results at most. Items are taken from `items` only as the pipeline needs
 * them, and nothing more is started once the consumer stops.
 */
export async function* pipelined<I, A, B>(
  items: Iterable<I>, first: (item: I) => Promise<A>, second: (read: A, item: I) => Promise<B>,
): AsyncGenerator<B> {
  const source = items[Symbol.iterator]();
  const start = () => {
    const next = source.next();
    if (next.done) return undefined;
    const read = first(next.value);
    read.catch(() => {}); // awaited in its turn; not unhandled meanwhile
    return { item: next.value, read };
  };
  for (let current = start(); current;) {
    const ahead = start();
    yield await second(await current.read, current.item);
    current = ahead;
  }
}
