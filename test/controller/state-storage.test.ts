/**
 * Model states in the state folder: each hop's checksum, atomic visibility,
 * rollback, deletion (reaped however the row went), marketplace copies,
 * orphans, cancellation — on the first database available, plus one
 * cancelled import through gRPC.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { toChunks, verifyAnnouncedChunks, verifyChunks } from '../../libs/blob/index.js';
import { isAideError } from '../../libs/errors.js';
import { AnnotationType } from '../../libs/gen/aide/v1/common.js';
import type { BlobChunk } from '../../libs/gen/aide/v1/common.js';
import type { ImportModelStateRequest } from '../../libs/gen/aide/v1/controller.js';
import { migrate } from '../../libs/db/index.js';
import { CONTROLLER_MIGRATIONS } from '../../services/controller/schema/index.js';
import type { ModelStateMeta } from '../../services/controller/domain.js';
import {
  copyState, currentState, deleteState, getState, insertState, setCurrentState, stateBytes, type StateStore,
} from '../../services/controller/store/model-states.js';
import { insertProject } from '../../services/controller/store/projects.js';
import { reapDeletedBlobs, sweepOrphanBlobs } from '../../services/controller/store/state-blobs.js';
import { prngBytes } from '../blob/echo.js';
import { databaseTargets, withTestSchema } from '../support/postgres.js';
import { tempStateStore } from '../support/state-store.js';
import { controllerTargets } from './harness.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const meta = (project: string): ModelStateMeta => ({ project, modelLibrary: 'test.fixture', labelClassMap: {}, stats: {}, parentId: null, numImages: 1 });
const settings = { modelLibrary: 'test.fixture', modelOptionsJson: '', rankerLibrary: '', rankerOptionsJson: '', autoTrain: { enabled: false, minNewAnnotations: 0, numWorkers: 1, numEpochs: 1 }, ignoreUnlabeled: false, minAnnotationsPerImage: 1, maxTrainingImages: 0 };

async function readAll(pieces: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const p of pieces) out.push(p);
  return Buffer.concat(out);
}

/** Rows and files (parts included) of the store. */
async function stored(store: StateStore): Promise<{ rows: number; files: string[] }> {
  const { rows } = await store.db.query<{ n: number }>('SELECT count(*)::int AS n FROM model_states');
  return { rows: rows[0]!.n, files: (await store.blobs.list()).map((e) => e.name + (e.partial ? '.part' : '')).sort() };
}

/** Pieces of odd sizes, the source failing after `failAfter` bytes when given. */
async function* oddPieces(bytes: Buffer, failAfter?: number): AsyncGenerator<Buffer> {
  for (let at = 0, n = 1; at < bytes.length; at += n, n = n * 3 + 7) {
    if (failAfter !== undefined && at >= failAfter) throw new Error('the sender went away');
    yield bytes.subarray(at, at + n);
  }
}

test('state folder: checksums per hop, rollback, deletion, copies, orphans, cancellation', async (t) => {
  const target = (await databaseTargets()).find((x) => !x.unavailable)!;
  const database = await withTestSchema(t, target);
  if (!database) return;
  await migrate(database.pool, CONTROLLER_MIGRATIONS);
  const store = await tempStateStore(t, database.pool);
  for (const name of ['p', 'q']) {
    await insertProject(store.db, { name, displayName: '', annotationType: 'points', predictionType: 'points', settings });
  }
  // 2.5 MiB + 3: more than any piece the folder reads (1 MiB) or a chunk carries, written from pieces of odd sizes.
  const v1Bytes = prngBytes((5 << 19) + 3, 1);
  const v2Bytes = prngBytes(300_001, 2);

  await t.test('a state larger than any single buffer: stored from odd pieces, read back in pieces, hashed once on the way in', async () => {
    const v1 = await insertState(store, meta('p'), oddPieces(v1Bytes));
    assert.equal(v1.sizeBytes, v1Bytes.length);
    assert.equal(Buffer.from(v1.sha256).toString('hex'), sha(v1Bytes));
    const pieces: Buffer[] = [];
    for await (const p of stateBytes(store, v1)) pieces.push(p);
    assert.ok(pieces.length >= 3 && pieces.every((p) => p.length <= 1 << 20), `${pieces.length} pieces`);
    assert.ok(Buffer.concat(pieces).equals(v1Bytes));
    assert.deepEqual((await stored(store)).files, [v1.id]);
  });

  await t.test('worker → controller: verified pieces are stored with the digest they were checked against; a corrupt chunk stores nothing', async () => {
    const chunks = async function* (bytes: Buffer, corruptAt?: number): AsyncGenerator<BlobChunk> {
      let i = 0;
      for await (const c of toChunks(bytes, { chunkSize: 64 * 1024 })) {
        // A copy with its first byte changed: the sender's buffer stays as it was.
        if (i++ === corruptAt) c.data = Buffer.from(c.data).fill(c.data[0]! ^ 1, 0, 1);
        yield c;
      }
    };
    const before = await stored(store);
    const bad = verifyAnnouncedChunks(chunks(v2Bytes, 2), { size: v2Bytes.length });
    await assert.rejects(insertState(store, meta('p'), bad, { sha256: () => bad.sha256 }), (e: unknown) => isAideError(e, 'DATA_LOSS'));
    assert.deepEqual(await stored(store), before, 'no row, no file, no part');
    const good = verifyAnnouncedChunks(chunks(v2Bytes), { size: v2Bytes.length });
    const v2 = await insertState(store, meta('p'), good, { sha256: () => good.sha256 });
    assert.equal(Buffer.from(v2.sha256).toString('hex'), sha(v2Bytes));
    assert.equal(v2.version, 2);
  });

  await t.test('controller → receiver: the stored digest travels with the bytes, so a byte flipped at rest is DATA_LOSS at the other end', async () => {
    const v1 = (await store.db.query<{ id: string }>("SELECT id FROM model_states WHERE project = 'p' AND version = 1")).rows[0]!.id;
    const info = await getState(store.db, 'p', v1);
    const send = () => toChunks(stateBytes(store, info), { totalSize: info.sizeBytes, sha256: info.sha256 });
    assert.ok((await readAll(verifyChunks(send(), { maxSize: info.sizeBytes }))).equals(v1Bytes));
    const file = path.join(store.blobs.root, v1);
    const original = await readFile(file);
    const flipped = Buffer.from(original);
    flipped[1_500_000]! ^= 0x40;
    await writeFile(file, flipped);
    await assert.rejects(readAll(verifyChunks(send(), { maxSize: info.sizeBytes })), (e: unknown) => isAideError(e, 'DATA_LOSS'));
    await writeFile(file, original);
  });

  await t.test('rollback: an older version made current again, its bytes as they were; deletion removes the file with the row', async () => {
    const [v1, v2] = (await store.db.query<{ id: string }>("SELECT id FROM model_states WHERE project = 'p' ORDER BY version")).rows.map((r) => r.id) as [string, string];
    await setCurrentState(store.db, 'p', v2);
    await setCurrentState(store.db, 'p', v1);
    const current = (await currentState(store.db, 'p'))!;
    assert.equal(current.id, v1);
    assert.ok((await readAll(stateBytes(store, current))).equals(v1Bytes));
    await deleteState(store.db, 'p', v2);
    assert.equal(await reapDeletedBlobs(store), 1);
    assert.deepEqual((await stored(store)).files, [v1]);
    await assert.rejects(getState(store.db, 'p', v2), (e: unknown) => isAideError(e, 'NOT_FOUND'));
  });

  await t.test('marketplace copy: a second name for the same bytes, which outlives the source; a project deleted takes its files', async () => {
    const v1 = (await currentState(store.db, 'p'))!;
    const copy = await copyState(store, v1.id, { ...meta('q'), parentId: v1.id });
    assert.equal(copy.sizeBytes, v1.sizeBytes);
    assert.deepEqual(copy.sha256, v1.sha256);
    await store.db.query("DELETE FROM projects WHERE name = 'p'"); // the rows cascade: the trigger notes each
    assert.equal(await reapDeletedBlobs(store), 1);
    assert.deepEqual((await stored(store)).files, [copy.id]);
    assert.ok((await readAll(stateBytes(store, copy))).equals(v1Bytes));
  });

  await t.test('cancelled or failed mid-transfer: no row, no file, no part; orphans of a crash are swept', async () => {
    const before = await stored(store);
    await assert.rejects(insertState(store, meta('q'), oddPieces(v1Bytes, 1_000_000)), /the sender went away/);
    const abort = new AbortController();
    const chunks = (async function* () {
      let n = 0;
      for await (const c of toChunks(v1Bytes, { chunkSize: 256 * 1024 })) {
        if (++n === 4) abort.abort();
        yield c;
      }
    })();
    const cancelled = verifyAnnouncedChunks(chunks, { size: v1Bytes.length, signal: abort.signal });
    await assert.rejects(insertState(store, meta('q'), cancelled, { sha256: () => cancelled.sha256 }), (e: unknown) => isAideError(e, 'CANCELLED'));
    assert.deepEqual(await stored(store), before);

    // What a crash between writing and committing leaves: a part, and a file whose row never committed.
    const ghost = '00000000-0000-4000-8000-000000000001';
    await store.blobs.write(ghost, oddPieces(v2Bytes));
    await store.blobs.write('00000000-0000-4000-8000-000000000002', oddPieces(v2Bytes));
    await store.blobs.commit(ghost);
    assert.equal(await sweepOrphanBlobs(store), 0, 'young files are left alone: their rows may be about to commit');
    assert.equal(await sweepOrphanBlobs(store, 0), 2);
    assert.deepEqual(await stored(store), before, 'the stored state kept');
  });
});

for (const target of (await controllerTargets()).slice(0, 1)) {
  test(`an import cancelled by its client mid-stream leaves no bytes behind (${target.name})`, { skip: target.skip }, async (t) => {
    const h = await target.start(t);
    if (!h) return;
    await h.peer.createProject({ name: 'm', displayName: '', annotationType: AnnotationType.ANNOTATION_TYPE_POINTS, predictionType: AnnotationType.ANNOTATION_TYPE_POINTS, settings: undefined });
    const size = 8 << 20;
    const abort = new AbortController();
    let sent = 0;
    async function* requests(): AsyncGenerator<ImportModelStateRequest> {
      yield { payload: { $case: 'header', value: { project: 'm', modelLibrary: 'test.fixture', labelClassMap: {}, stats: {}, size, numImages: 1 } } };
      for await (const chunk of toChunks(prngBytes(size, 9))) {
        yield { payload: { $case: 'chunk', value: chunk } };
        if (++sent === 3) {
          // The server is writing the state's part by now: wait until it shows, then hang up.
          for (let i = 0; i < 500 && (await h!.controller.states.blobs.list()).length === 0; i++) await new Promise((r) => setTimeout(r, 10));
          abort.abort();
          await new Promise(() => {}); // never sends the rest
        }
      }
    }
    await assert.rejects(h.peer.importModelState(requests(), { signal: abort.signal }), (e: unknown) => isAideError(e, 'CANCELLED'));
    const left = async () => ({ rows: (await h.controller.database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM model_states')).rows[0]!.n, files: (await h.controller.states.blobs.list()).length });
    for (let i = 0; i < 500 && (await left()).files > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(await left(), { rows: 0, files: 0 });
  });
}
