const PROCESS_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;
type Listener = (...args: unknown[]) => void;
/** process.listeners() without its per-event overloads, which do not accept a union of names. */
const listenersOf = (event: (typeof PROCESS_EVENTS)[number]): Listener[] => process.listeners(event as 'exit') as Listener[];

/**
 * Runs `load` and removes the process-wide error handlers it added. The
 * WebAssembly backend's Emscripten glue installs handlers that rethrow every
 * unhandled rejection of the whole process (printing its own source), which
 * would turn any stray rejection of a service into a crash.
 */
export async function withoutAddedProcessHandlers<T>(load: () => Promise<T>): Promise<T> {
  const before = new Map(PROCESS_EVENTS.map((e) => [e, new Set(listenersOf(e))]));
  try {
    return await load();
  } finally {
    for (const e of PROCESS_EVENTS) {
      for (const l of listenersOf(e)) {
        if (!before.get(e)!.has(l)) process.removeListener(e, l);
      }
    }
  }
}
