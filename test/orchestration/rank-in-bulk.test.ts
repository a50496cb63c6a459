/**
 * Ranking in bulk through the real job runner and Ranker: a ranker with
 * rankColumns (builtin.least_confidence) ranks a points state by columns,
 * every prediction once, priorities as its formula gives them; the keyset
 * scan behind it crosses its page seams (an image's predictions split
 * between pages) without skipping or repeating one, and priorities written a
 * page at a time land as they would in one.
 */
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnnotationType, JobState } from '../../libs/gen/aide/v1/common.js';
import { uuidsFromBytes, uuidsToBytes } from '../../libs/wire/uuid-bytes.js';
import { insertImages } from '../../services/controller/store/images.js';
import { insertState } from '../../services/controller/store/model-states.js';
import { insertPredictions, scoreColumnsOfState, setPriorities } from '../../services/controller/store/predictions.js';
import { startOrchestratedController } from '../support/orchestrated-controller.js';

const PROJECT = 'bulk';
const IMAGES = 150;
const PER_IMAGE = 3;

test('ranking by columns: every prediction of the state once, as the ranker scores it', async (t) => {
  const mesh = await startOrchestratedController(t, { withRanker: true });
  if (!mesh) return;
  const { client: c, db, states } = mesh;
  await c.createProject({
    name: PROJECT, displayName: '', annotationType: AnnotationType.ANNOTATION_TYPE_POINTS, predictionType: AnnotationType.ANNOTATION_TYPE_POINTS,
    settings: {
      modelLibrary: 'test.fixture', modelOptionsJson: '', rankerLibrary: 'builtin.least_confidence', rankerOptionsJson: '',
      autoTrain: { enabled: false, minNewAnnotations: 0, numWorkers: 1, numEpochs: 1 }, ignoreUnlabeled: false, minAnnotationsPerImage: 1, maxTrainingImages: 0,
    },
  });
  const classId = (await c.addLabelClass({ project: PROJECT, name: 'gnu', color: '' })).labelClass!.id;
  await insertImages(db, PROJECT, Array.from({ length: IMAGES }, (_, i) => ({ filePath: `t/${i}.png`, sizeBytes: 1, width: 8, height: 8 })));
  const images = (await db.query<{ id: string }>('SELECT id FROM images WHERE project = $1', [PROJECT])).rows;
  const state = await insertState(states, { project: PROJECT, modelLibrary: 'test.fixture', labelClassMap: { [classId]: 0 }, stats: {}, parentId: null, numImages: 1 }, Buffer.from('s'));
  await c.setCurrentModelState({ project: PROJECT, id: state.id });
  // Logits as probabilities for some predictions, a confidence alone for the others.
  await insertPredictions(db, PROJECT, state.id, images.map((img, i) => ({
    imageId: img.id,
    predictions: Array.from({ length: PER_IMAGE }, (_, k) => {
      const top = 0.5 + ((i * PER_IMAGE + k) % 50) / 100;
      return { labelClassId: classId, confidence: top, logits: k === 0 ? [] : [top, 1 - top], priority: 0, geometry: { kind: 'point' as const, x: 0.5, y: 0.5 } };
    }),
  })));

  await t.test('the keyset scan: pages of 7 cover every prediction once, each with its own confidence and logits', async () => {
    const seen: { id: string; confidence: number; logits: number[] }[] = [];
    for await (const page of scoreColumnsOfState(db, state.id, 7)) {
      const ids = uuidsFromBytes(page.ids);
      assert.ok(ids.length <= 7);
      assert.equal(page.confidence.length, ids.length);
      assert.equal(page.logitsCount.length, ids.length);
      assert.equal(page.logitsCount.reduce((a, b) => a + b, 0), page.logits.length);
      let at = 0;
      ids.forEach((id, i) => {
        seen.push({ id, confidence: page.confidence[i]!, logits: page.logits.slice(at, at + page.logitsCount[i]!) });
        at += page.logitsCount[i]!;
      });
    }
    const { rows } = await db.query<{ id: string; confidence: number; logits: number[] }>(
      'SELECT id, confidence, logits FROM predictions WHERE state_id = $1 ORDER BY image_id, id', [state.id]);
    assert.deepEqual(seen.sort((a, b) => a.id.localeCompare(b.id)), rows.sort((a, b) => a.id.localeCompare(b.id)));
  });

  await t.test('setPriorities: pages of 3 set exactly the priorities one page of all sets', async () => {
    const { rows } = await db.query<{ id: string }>('SELECT id FROM predictions WHERE state_id = $1 ORDER BY id', [state.id]);
    const ids = rows.map((r) => r.id);
    const priorityOf = (i: number) => i / ids.length + 0.125;
    const read = async () => (await db.query<{ id: string; priority: number }>('SELECT id, priority FROM predictions WHERE state_id = $1 ORDER BY id', [state.id])).rows;
    assert.equal(await setPriorities(db, state.id, uuidsToBytes(ids), ids.map((_, i) => priorityOf(i))), ids.length);
    const whole = await read();
    await setPriorities(db, state.id, uuidsToBytes(ids), ids.map(() => 0));
    let written = 0;
    for (let start = 0; start < ids.length; start += 3) {
      const page = ids.slice(start, start + 3);
      written += await setPriorities(db, state.id, uuidsToBytes(page), page.map((_, j) => priorityOf(start + j)));
    }
    assert.equal(written, ids.length);
    assert.deepEqual(await read(), whole);
    assert.deepEqual(whole.map((r) => r.priority), ids.map((_, i) => priorityOf(i)));
    // Another state's prediction is never touched, even when named.
    assert.equal(await setPriorities(db, randomUUID(), uuidsToBytes(ids.slice(0, 1)), [1]), 0);
  });

  await t.test('StartRanking: SUCCEEDED, each priority 1 − the top probability', async () => {
    const { job } = await c.startRanking({ project: PROJECT, modelStateId: '' });
    const events = await mesh.finish(PROJECT, job!.id);
    assert.equal(events.at(-1)!.state, JobState.JOB_STATE_SUCCEEDED, events.at(-1)!.message);
    assert.match(events.at(-1)!.message, new RegExp(`ranked ${IMAGES * PER_IMAGE} predictions with builtin.least_confidence`));
    const { rows } = await db.query<{ confidence: number; priority: number }>('SELECT confidence, priority FROM predictions WHERE state_id = $1', [state.id]);
    assert.equal(rows.length, IMAGES * PER_IMAGE);
    for (const r of rows) assert.ok(Math.abs(r.priority - (1 - r.confidence)) < 1e-9, `confidence ${r.confidence}: priority ${r.priority}`);
  });
});
