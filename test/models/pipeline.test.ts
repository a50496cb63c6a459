/** The built-in inference pipeline (models/builtin/pipeline.ts): order, one item read ahead, nothing started after the consumer stops. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pipelined } from '../../models/builtin/pipeline.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

test('pipelined: results in order; item k + 1 is read while item k is processed, never further ahead', async () => {
  const log: string[] = [];
  const out: number[] = [];
  const stages = pipelined([1, 2, 3, 4],
    async (n) => { log.push(`read ${n}`); await tick(); return n * 10; },
    async (read, n) => { log.push(`process ${n}`); await tick(); await tick(); return read + n; });
  for await (const r of stages) out.push(r);
  assert.deepEqual(out, [11, 22, 33, 44]);
  assert.deepEqual(log, ['read 1', 'read 2', 'process 1', 'read 3', 'process 2', 'read 4', 'process 3', 'process 4']);
});

test('pipelined: a consumer that stops starts nothing more; a failed read fails in its turn', async () => {
  const read: number[] = [];
  for await (const r of pipelined([1, 2, 3, 4, 5], async (n) => { read.push(n); return n; }, async (n) => n)) {
    if (r === 2) break;
  }
  assert.deepEqual(read, [1, 2, 3], 'the item after the last one consumed was read ahead, none after it');

  const seen: number[] = [];
  await assert.rejects((async () => {
    for await (const r of pipelined([1, 2, 3], async (n) => { if (n === 2) throw new Error('unreadable batch'); return n; }, async (n) => n)) seen.push(r);
  })(), /unreadable batch/);
  assert.deepEqual(seen, [1], 'the items before the failure came through');
});
