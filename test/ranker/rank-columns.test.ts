/**
 * Ranking by columns (RankHeader.columns, Ranker.rankColumns): many
 * predictions a message, each page's priorities back as the ranker's rank()
 * would give them; a ranker without rankColumns, or columns that disagree in
 * length, refused loudly.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { isAideError } from '../../libs/errors.js';
import { AnnotationType } from '../../libs/gen/aide/v1/common.js';
import type { RankRequest, RankResponse } from '../../libs/gen/aide/v1/ranker.js';
import type { PluginContext } from '../../libs/plugin/context.js';
import { loadRegistry } from '../../libs/plugin/registry.js';
import { uuidsFromBytes, uuidsToBytes } from '../../libs/wire/uuid-bytes.js';
import { BreakingTiesRanker } from '../../models/rankers/breaking-ties.js';
import { rankStream } from '../../services/ranker/rank-stream.js';

const registry = await loadRegistry({});
const deps = { registry, contextFor: (project: string): Omit<PluginContext, 'options'> => ({
  project, config: { getProperty: (_s, _k, _t, fallback) => fallback }, dbConnector: { execute: () => Promise.resolve(null) }, fileServer: { getFile: () => Promise.resolve(null) },
}) };

const header = (rankerLibrary: string, numImages: number): RankRequest => ({ payload: { $case: 'header', value: {
  jobId: 'j', project: 'p', rankerLibrary, rankerOptionsJson: '', predictionType: AnnotationType.ANNOTATION_TYPE_LABELS, numImages, traceparent: '', columns: true,
} } });

interface Row { id: string; confidence: number; logits: number[] }
const columns = (rows: Row[]): RankRequest => ({ payload: { $case: 'columns', value: {
  ids: uuidsToBytes(rows.map((r) => r.id)), confidence: rows.map((r) => r.confidence), logits: rows.flatMap((r) => r.logits), logitsCount: rows.map((r) => r.logits.length),
} } });

async function collect(requests: RankRequest[]): Promise<RankResponse[]> {
  const out: RankResponse[] = [];
  for await (const r of rankStream((async function* () { yield* requests; })(), new AbortController().signal, deps)) out.push(r);
  return out;
}

test('UUIDs travel as 16 bytes each and come back as they were', () => {
  const ids = Array.from({ length: 5 }, () => randomUUID());
  assert.deepEqual(uuidsFromBytes(uuidsToBytes(ids)), ids);
  assert.throws(() => uuidsFromBytes(new Uint8Array(17)), /whole number/);
});

test('columns: each message answered by its priorities, as rank() gives them, progress counting predictions', async () => {
  // Probabilities, raw logits (softmax), a confidence alone (the two-class view), a tie.
  const rows: Row[] = [
    { id: randomUUID(), confidence: 0.7, logits: [0.7, 0.2, 0.1] },
    { id: randomUUID(), confidence: 0, logits: [2, -1, 0.5] },
    { id: randomUUID(), confidence: 0.8, logits: [] },
    { id: randomUUID(), confidence: 0.5, logits: [0.5, 0.5] },
    { id: randomUUID(), confidence: 0.9, logits: [0.9] },
  ];
  const responses = await collect([header('builtin.breaking_ties', rows.length), columns(rows.slice(0, 3)), columns(rows.slice(3))]);
  const pages = responses.flatMap((r) => (r.payload?.$case === 'priorities' ? [r.payload.value] : []));
  assert.equal(pages.length, 2, 'one answer per message');
  assert.deepEqual(pages.flatMap((p) => uuidsFromBytes(p.ids)), rows.map((r) => r.id), 'in order, ids echoed');

  const ranker = new BreakingTiesRanker({ ...deps.contextFor('p'), options: {} });
  const data = Object.fromEntries(rows.map((r) => [r.id, { predictions: [{ id: r.id, confidence: r.confidence, logits: r.logits }] }]));
  const ranked = await ranker.rank(data, () => {});
  const expected = rows.map((r) => ranked[r.id]!.predictions[0]!.priority!);
  pages.flatMap((p) => p.priority).forEach((priority, i) => assert.ok(Math.abs(priority - expected[i]!) < 1e-12, `row ${i}: ${priority} vs rank() ${expected[i]}`));

  const progress = responses.flatMap((r) => (r.payload?.$case === 'progress' ? [r.payload.value] : []));
  assert.deepEqual(progress.map((p) => p.done), [3, 5, 5]);
  assert.match(progress.at(-1)!.message, /ranked 5 predictions/);
});

test('columns: a ranker without rankColumns is FAILED_PRECONDITION; disagreeing columns are INVALID_ARGUMENT naming the field', async () => {
  const row = { id: randomUUID(), confidence: 0.6, logits: [0.6, 0.4] };
  await assert.rejects(collect([header('builtin.random', 1), columns([row])]), (e) => isAideError(e, 'FAILED_PRECONDITION'));
  const short = columns([row, row]);
  if (short.payload?.$case === 'columns') short.payload.value.confidence.pop();
  await assert.rejects(collect([header('builtin.breaking_ties', 2), short]), (e) => isAideError(e, 'INVALID_ARGUMENT') && e.fieldViolations[0]?.field === 'columns');
  const image: RankRequest = { payload: { $case: 'image', value: { imageId: 'i', predictions: [], embedding: undefined, annotated: false } } };
  await assert.rejects(collect([header('builtin.breaking_ties', 1), image]), (e) => isAideError(e, 'INVALID_ARGUMENT') && e.fieldViolations[0]?.field === 'columns');
});
