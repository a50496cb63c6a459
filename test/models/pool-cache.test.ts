/**
 * Warm replica pools: a call reuses the pool an earlier call of the same
 * kind left, never a broken one, and an idle pool does not keep the process
 * alive (this file's process must exit with pools still parked).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLASSIFIER_NETWORK } from '../../models/builtin/classifier/network.js';
import { withPool } from '../../models/builtin/pool-cache.js';
import type { ReplicaPool } from '../../models/builtin/replica-pool.js';

const options = (classes: number) => ({ networkModule: CLASSIFIER_NETWORK, arch: { inputSize: 16, width: 4, depth: 2, classes }, threads: 1, backend: 'wasm' as const });
const poolOf = (classes: number) => withPool(options(classes), async (pool) => pool);

describe('warm replica pools', () => {
  it('reuses a pool of the same kind, starts another for another kind', async () => {
    const first = await poolOf(2);
    assert.equal(await poolOf(2), first);
    assert.notEqual(await poolOf(3), first);
    assert.ok(first.healthy);
  });

  it('never hands out a pool whose workers are gone', async () => {
    let broken: ReplicaPool | undefined;
    await withPool(options(2), async (pool) => { broken = pool; await pool.close(); });
    const next = await poolOf(2);
    assert.notEqual(next, broken);
    assert.ok(next.healthy);
  });
});
