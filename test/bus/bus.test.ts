/**
 * The EventBus contract, run on the real NATS JetStream server (when
 * reachable; see test/support/nats.ts) and on the in-process bus.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { JobState, ProgressEvent } from '../../libs/gen/aide/v1/common.js';
import { createBus, isTerminalState, MemoryBus, NatsBus, type BusEvent } from '../../libs/bus/index.js';
import { isAideError } from '../../libs/errors.js';
import { busTargets, realNatsUrl, uniquePrefix, type BusTarget, type TestBus } from '../support/nats.js';

const targets = await busTargets();

function ev(project: string, jobId: string, seq: number, state = JobState.JOB_STATE_RUNNING, extra: Partial<ProgressEvent> = {}): ProgressEvent {
  return ProgressEvent.fromPartial({
    project, jobId, seq, state, workerId: 'w1', modelState: 'PROGRESS', message: `step ${seq}`,
    done: seq, total: 500, time: new Date(1_700_000_000_000 + seq), ...extra,
  });
}

/** Everything the iterable yields until it ends; fails if that takes longer than `ms`. */
async function collect(it: AsyncIterable<BusEvent>, ms = 10_000, onItem?: (e: BusEvent, n: number) => void | Promise<void>): Promise<BusEvent[]> {
  const out: BusEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`iteration did not end within ${ms} ms (got ${out.length})`)), ms);
  });
  try {
    await Promise.race([(async () => {
      for await (const e of it) {
        out.push(e);
        await onItem?.(e, out.length);
      }
    })(), timeout]);
  } finally {
    clearTimeout(timer);
  }
  return out;
}

/** The first `n` items, then stops iterating (return()). */
async function take(it: AsyncIterable<BusEvent>, n: number, ms = 10_000): Promise<BusEvent[]> {
  const out: BusEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not get ${n} events within ${ms} ms (got ${out.length})`)), ms);
  });
  try {
    await Promise.race([(async () => {
      if (n === 0) return;
      for await (const e of it) {
        out.push(e);
        if (out.length >= n) break;
      }
    })(), timeout]);
  } finally {
    clearTimeout(timer);
  }
  return out;
}

async function eventually(what: string, check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const seqs = (list: BusEvent[]): number[] => list.map((e) => e.event.seq);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function openFor(t: TestContext, target: BusTarget, prefix?: string): Promise<TestBus> {
  const bus = await target.open(prefix);
  t.after(() => bus.dispose());
  return bus;
}

for (const target of targets) {
  describe(`event bus: ${target.name}`, { concurrency: true }, () => {
    const busTest = (name: string, fn: (t: TestContext) => Promise<void>): void => {
      test(name, async (t) => {
        if (target.skipReason) {
          t.skip(target.skipReason);
          return;
        }
        await fn(t);
      });
    };

    busTest('500 events per job, two jobs interleaved, arrive in order to early and late watchers', async (t) => {
      const bus = await openFor(t, target);
      const N = 500;
      const early = [collect(bus.watch('p1', 'jobA')), collect(bus.watch('p1', 'jobB'))];
      // Concurrent (not awaited one by one) publishes still keep call order.
      const pubs: Promise<void>[] = [];
      for (let i = 1; i <= N; i++) {
        const state = i === N ? JobState.JOB_STATE_SUCCEEDED : JobState.JOB_STATE_RUNNING;
        pubs.push(bus.publish(ev('p1', 'jobA', i, state)));
        pubs.push(bus.publish(ev('p1', 'jobB', i, i === N ? JobState.JOB_STATE_FAILED : JobState.JOB_STATE_RUNNING)));
      }
      await Promise.all(pubs);
      const [a, b] = await Promise.all(early);
      const [lateA, lateB] = await Promise.all([collect(bus.watch('p1', 'jobA')), collect(bus.watch('p1', 'jobB'))]);
      for (const [list, id, last] of [[a, 'jobA', JobState.JOB_STATE_SUCCEEDED], [b, 'jobB', JobState.JOB_STATE_FAILED],
        [lateA, 'jobA', JobState.JOB_STATE_SUCCEEDED], [lateB, 'jobB', JobState.JOB_STATE_FAILED]] as const) {
        assert.deepEqual(seqs(list), range(1, N));
        assert.ok(list.every((e) => e.event.jobId === id && e.event.project === 'p1'));
        assert.equal(list.at(-1)!.event.state, last);
      }
      assert.deepEqual(lateA, a);
      assert.deepEqual(lateB, b);
      // the event survives the wire intact
      assert.deepEqual(a[41]!.event, ev('p1', 'jobA', 42));
      assert.deepEqual(a[41]!.headers, {});
    });

    busTest('a watcher joining before and one joining late (on another client) see the identical full sequence', async (t) => {
      const bus = await openFor(t, target);
      const other = await openFor(t, target, bus.prefix);
      const early = collect(bus.watch('proj', 'job1'));
      for (let i = 1; i <= 20; i++) await bus.publish(ev('proj', 'job1', i, i === 1 ? JobState.JOB_STATE_QUEUED : JobState.JOB_STATE_RUNNING));
      // joins mid-job: gets the 20 of the backlog, then the live rest
      let lateSeen = 0;
      let resolveLate!: () => void;
      const lateStarted = new Promise<void>((r) => { resolveLate = r; });
      const late = collect(other.watch('proj', 'job1'), 10_000, (_e, n) => {
        lateSeen = n;
        if (n === 20) resolveLate();
      });
      await lateStarted;
      assert.equal(lateSeen, 20);
      for (let i = 21; i <= 40; i++) await bus.publish(ev('proj', 'job1', i));
      await bus.publish(ev('proj', 'job1', 41, JobState.JOB_STATE_CANCELLED));
      const [e, l] = await Promise.all([early, late]);
      assert.deepEqual(seqs(e), range(1, 41));
      assert.deepEqual(l, e);
      assert.equal(e.at(-1)!.event.state, JobState.JOB_STATE_CANCELLED);
      // after the end: the whole backlog, then it completes by itself
      assert.deepEqual(await collect(other.watch('proj', 'job1')), e);
      // events after the terminal one are not part of the watch
      await bus.publish(ev('proj', 'job1', 42));
      assert.deepEqual(seqs(await collect(bus.watch('proj', 'job1'))), range(1, 41));
    });

    busTest('headers round-trip', async (t) => {
      const bus = await openFor(t, target);
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const sub = bus.subscribe('hp');
      await sub.ready;
      const live = take(sub, 2);
      await bus.publish(ev('hp', 'j', 1), { headers: { traceparent, 'x-aide-tenant': 'acme' } });
      await bus.publish(ev('hp', 'j', 2, JobState.JOB_STATE_SUCCEEDED));
      const watched = await collect(bus.watch('hp', 'j'));
      assert.deepEqual(watched.map((e) => e.headers), [{ traceparent, 'x-aide-tenant': 'acme' }, {}]);
      assert.deepEqual((await live).map((e) => e.headers), [{ traceparent, 'x-aide-tenant': 'acme' }, {}]);
    });

    busTest("subscribe sees live events of its project, not another project's; '*' sees all", async (t) => {
      const bus = await openFor(t, target);
      await bus.publish(ev('alpha', 'old', 1)); // before subscribing: not live
      const alpha = bus.subscribe('alpha');
      const all = bus.subscribe('*');
      await Promise.all([alpha.ready, all.ready]);
      const gotAlpha = take(alpha, 4);
      const gotAll = take(all, 6);
      await bus.publish(ev('alpha', 'a1', 1));
      await bus.publish(ev('beta', 'b1', 1));
      await bus.publish(ev('alpha', 'a2', 1));
      await bus.publish(ev('beta', 'b1', 2, JobState.JOB_STATE_SUCCEEDED));
      await bus.publish(ev('alpha', 'a1', 2, JobState.JOB_STATE_SUCCEEDED));
      await bus.publish(ev('alpha', 'a2', 2));
      const key = (e: BusEvent): string => `${e.event.project}/${e.event.jobId}/${e.event.seq}`;
      assert.deepEqual((await gotAlpha).map(key), ['alpha/a1/1', 'alpha/a2/1', 'alpha/a1/2', 'alpha/a2/2']);
      assert.deepEqual((await gotAll).map(key),
        ['alpha/a1/1', 'beta/b1/1', 'alpha/a2/1', 'beta/b1/2', 'alpha/a1/2', 'alpha/a2/2']);
      // a subscription on a project with no traffic just waits (until aborted)
      const ac = new AbortController();
      const quiet = bus.subscribe('gamma', { signal: ac.signal });
      await quiet.ready;
      setTimeout(() => ac.abort(), 100);
      assert.deepEqual(await collect(quiet, 3_000), []);
      // stopped subscriptions release their consumers
      await eventually('no listeners left', async () => (await bus.listeners()) === 0);
    });

    busTest('abort ends watch and subscribe promptly, without throwing, and releases them', async (t) => {
      const bus = await openFor(t, target);
      await bus.publish(ev('ab', 'j', 1));
      const ac = new AbortController();
      const started = Date.now();
      const watch = collect(bus.watch('ab', 'j', { signal: ac.signal }), 5_000, () => {
        setTimeout(() => ac.abort(), 50);
      });
      const sub = bus.subscribe('ab', { signal: ac.signal });
      await sub.ready;
      const subbed = collect(sub, 5_000);
      const [w, s] = await Promise.all([watch, subbed]);
      const took = Date.now() - started;
      assert.deepEqual(seqs(w), [1]);
      assert.deepEqual(s, []);
      assert.ok(took < 1_500, `abort took ${took} ms`);
      // an already aborted signal: ends at once
      assert.deepEqual(await collect(bus.watch('ab', 'j', { signal: AbortSignal.abort() }), 1_000), []);
      assert.deepEqual(await collect(bus.subscribe('ab', { signal: AbortSignal.abort() }), 1_000), []);
      // leaving a for-await early (return()) releases too
      await bus.publish(ev('ab', 'j', 2));
      assert.deepEqual(seqs(await take(bus.watch('ab', 'j'), 1)), [1]);
      await eventually('no listeners left', async () => (await bus.listeners()) === 0);
    });

    busTest('close() ends open watches and subscriptions', async (t) => {
      const bus = await target.open();
      let disposed = false;
      t.after(() => (disposed ? undefined : bus.dispose()));
      const w = collect(bus.watch('cl', 'j'), 5_000);
      const sub = bus.subscribe('cl');
      await sub.ready;
      const s = collect(sub, 5_000);
      await new Promise((r) => setTimeout(r, 50));
      await bus.dispose();
      disposed = true;
      assert.deepEqual(await w, []);
      assert.deepEqual(await s, []);
    });

    busTest('invalid subject tokens are refused', async (t) => {
      const bus = await openFor(t, target);
      const bad = ['a.b', 'a*', '>', 'a b', 'tab\t', '', 'new\nline'];
      for (const token of bad) {
        await assert.rejects(bus.publish(ev(token, 'j', 1)), (e) => isAideError(e, 'INVALID_ARGUMENT'), `project ${JSON.stringify(token)}`);
        await assert.rejects(bus.publish(ev('p', token, 1)), (e) => isAideError(e, 'INVALID_ARGUMENT'), `jobId ${JSON.stringify(token)}`);
        assert.throws(() => bus.watch(token, 'j'), (e) => isAideError(e, 'INVALID_ARGUMENT'));
        assert.throws(() => bus.watch('p', token), (e) => isAideError(e, 'INVALID_ARGUMENT'));
        assert.throws(() => bus.subscribe(token), (e) => isAideError(e, 'INVALID_ARGUMENT'));
      }
      // valid ids with dashes, underscores, colons and unicode pass
      await bus.publish(ev('my-proj_1', 'c0ffee:42-ü', 1, JobState.JOB_STATE_SUCCEEDED));
      assert.equal((await collect(bus.watch('my-proj_1', 'c0ffee:42-ü'))).length, 1);
    });
  });
}

describe('createBus', () => {
  test('without a NATS URL: the in-process bus', async () => {
    const bus = await createBus({});
    assert.ok(bus instanceof MemoryBus);
    await bus.close();
    await bus.close(); // idempotent
    await assert.rejects(bus.publish(ev('p', 'j', 1)), (e) => isAideError(e, 'UNAVAILABLE'));
  });

  test('refuses a bad subject prefix or stream name', async () => {
    await assert.rejects(createBus({ natsUrl: 'nats://127.0.0.1:1', subjectPrefix: 'a.*' }), (e) => isAideError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(createBus({ natsUrl: 'nats://127.0.0.1:1', stream: 'A.B' }), (e) => isAideError(e, 'INVALID_ARGUMENT'));
  });

  test('with a NATS URL: JetStream bus, bounded file stream, created idempotently', async (t) => {
    const url = await realNatsUrl();
    const nats = targets.find((x) => x.name === 'nats')!;
    if (!url) {
      t.skip(nats.skipReason);
      return;
    }
    const prefix = uniquePrefix();
    const stream = `T_${prefix.toUpperCase()}`;
    const a = await createBus({ natsUrl: url, subjectPrefix: prefix, stream });
    const b = await createBus({ natsUrl: url, subjectPrefix: prefix, stream }); // same stream again: fine
    try {
      assert.ok(a instanceof NatsBus && b instanceof NatsBus);
      const jsm = await a.nc.jetstreamManager();
      const info = await jsm.streams.info(stream);
      assert.deepEqual(info.config.subjects, [`${prefix}.progress.>`]);
      assert.equal(info.config.storage, 'file');
      assert.ok(info.config.max_age > 0, 'max age set');
      assert.ok(info.config.max_msgs_per_subject > 0, 'per-subject cap set');
      await a.publish(ev('p', 'j', 1, JobState.JOB_STATE_SUCCEEDED));
      assert.deepEqual(seqs(await collect(b.watch('p', 'j'))), [1]);
      await jsm.streams.delete(stream);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('an unreachable NATS URL fails with UNAVAILABLE', async () => {
    await assert.rejects(
      createBus({ natsUrl: 'nats://127.0.0.1:1', subjectPrefix: uniquePrefix() }),
      (e) => isAideError(e, 'UNAVAILABLE'));
  });

  test('isTerminalState', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 0].map((s) => isTerminalState(s as JobState)),
      [false, false, true, true, true, false]);
  });
});
