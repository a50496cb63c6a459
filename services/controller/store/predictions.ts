import type pg from 'pg';
import type { ImagePredictions, PageQuery, Prediction, PredictionInput, StoredImagePredictions } from '../domain.js';
import { bufferOf, numberArray, uuidArray } from './array-params.js';
import { type Db, inTransaction } from './db.js';
import { imagesByIds } from './images.js';
import { getState } from './model-states.js';
import { float8Arrays, float8s } from './send-forms.js';

/**
 * A stored prediction as read (PREDICTION_COLUMNS, in that order): a row as
 * an array (the driver's rowMode 'array'), not an object built per row by
 * spreading and naming every column; the state is the one the caller asked
 * for, so its id is not read again per row. The logits come in their send
 * form (array_send), which the driver decodes as one hex string instead of
 * parsing a text array number by number.
 */
type PredictionRow = [
  id: string, imageId: string, labelClassId: string | null, kind: 'label' | 'point' | 'box' | 'segmentation',
  confidence: number, priority: number, logits: Buffer, x: number | null, y: number | null, width: number | null, height: number | null,
  segWidth: number | null, segHeight: number | null, labelMap: Buffer | null, confidenceMap: Buffer | null, logitsMap: Buffer | null,
  numClasses: number | null,
];

const PREDICTION_COLUMNS = `p.id, p.image_id, p.label_class_id, p.kind, p.confidence, p.priority, array_send(p.logits),
  p.x, p.y, p.width, p.height, p.seg_width, p.seg_height, p.label_map, p.confidence_map, p.logits_map, p.num_classes`;

/** The stored predictions `text` reads (its columns PREDICTION_COLUMNS), as rows. */
async function predictionRows(db: Db, text: string, values: unknown[]): Promise<PredictionRow[]> {
  return (await db.query<PredictionRow>({ text, values, rowMode: 'array' })).rows;
}

function geometryOf([, , , kind, , , , x, y, width, height, segWidth, segHeight, labelMap, confidenceMap, logitsMap, numClasses]: PredictionRow): Prediction['geometry'] {
  switch (kind) {
    case 'point': return { kind: 'point', x: x!, y: y! };
    case 'box': return { kind: 'box', x: x!, y: y!, width: width!, height: height! };
    case 'segmentation':
      return {
        kind: 'segmentation', width: segWidth!, height: segHeight!,
        labelMap: labelMap!, confidenceMap: confidenceMap!, logitsMap: logitsMap ?? Buffer.alloc(0), numClasses: numClasses ?? 0,
      };
    default: return { kind: 'label' };
  }
}

function toPrediction(stateId: string, r: PredictionRow): Prediction {
  const [id, imageId, labelClassId, , confidence, priority, logits] = r;
  return { id, imageId, stateId, labelClassId, confidence, logits: float8Arrays(logits).values, priority, geometry: geometryOf(r) };
}

/** Rows in image order as each image's predictions. */
function byImage(stateId: string, rows: readonly PredictionRow[]): StoredImagePredictions[] {
  const out: StoredImagePredictions[] = [];
  for (const r of rows) {
    const last = out.at(-1);
    if (last?.imageId === r[1]) last.predictions.push(toPrediction(stateId, r));
    else out.push({ imageId: r[1], predictions: [toPrediction(stateId, r)] });
  }
  return out;
}

/** The columns a stored prediction is written with; `id` comes from the column's default. */
const COLUMNS = [
  'image_id', 'state_id', 'label_class_id', 'kind', 'confidence', 'logits', 'priority', 'x', 'y', 'width', 'height',
  'seg_width', 'seg_height', 'label_map', 'confidence_map', 'logits_map', 'num_classes',
].join(', ');

/** One prediction of an image, as a row is written. */
interface PredictionRowInput {
  imageId: string;
  p: PredictionInput;
}

/**
 * What one statement carries at most: rows (their columns are literals built in memory), and map bytes
 * (segmentation), which travel as hex in an array literal, twice their size.
 */
const ROWS_PER_INSERT = 10_000;
const MAP_BYTES_PER_INSERT = 16 * 1024 ** 2;

const mapBytes = ({ p: { geometry: g } }: PredictionRowInput): number =>
  (g.kind === 'segmentation' ? g.labelMap.byteLength + g.confidenceMap.byteLength + g.logitsMap.byteLength : 0);

/** The predictions of `images` as rows, inserted by as few statements as the limits above allow. */
async function insertPredictionRows(
  db: Db, table: 'predictions' | 'staged_predictions', stateId: string, images: readonly ImagePredictions[], extra: Readonly<Record<string, string>> = {},
): Promise<number> {
  const rows = images.flatMap(({ imageId, predictions }) => predictions.map((p) => ({ imageId, p })));
  for (let start = 0; start < rows.length;) {
    let end = start + 1;
    for (let size = mapBytes(rows[start]!); end < rows.length && end - start < ROWS_PER_INSERT && size + mapBytes(rows[end]!) <= MAP_BYTES_PER_INSERT; end++) {
      size += mapBytes(rows[end]!);
    }
    await db.query(insertColumns(table, stateId, rows.slice(start, end), extra));
    start = end;
  }
  return rows.length;
}

/**
 * A batch of predictions as one statement: every column one array parameter,
 * unnested by Postgres into rows, the logits flattened into one array and
 * cut back by each row's offsets. A VALUES tuple per prediction (17
 * parameters each) cost Postgres about twice the CPU to parse and bind, and
 * the driver an escape per value (bench/controller/stage-predictions.ts).
 * Extra columns (the staging run's) are the same for every row.
 */
function insertColumns(
  table: 'predictions' | 'staged_predictions', stateId: string, rows: readonly PredictionRowInput[], extra: Readonly<Record<string, string>>,
): pg.QueryConfig {
  const logits: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const cols = { image: [] as string[], cls: [] as (string | null)[], kind: [] as string[], confidence: [] as number[], priority: [] as number[],
    x: [] as (number | null)[], y: [] as (number | null)[], w: [] as (number | null)[], h: [] as (number | null)[],
    segW: [] as (number | null)[], segH: [] as (number | null)[], labelMap: [] as (Buffer | null)[], confidenceMap: [] as (Buffer | null)[],
    logitsMap: [] as (Buffer | null)[], numClasses: [] as (number | null)[] };
  for (const { imageId, p } of rows) {
    const g = p.geometry;
    starts.push(logits.length);
    for (const v of p.logits) logits.push(v);
    ends.push(logits.length);
    cols.image.push(imageId); cols.cls.push(p.labelClassId); cols.kind.push(g.kind); cols.confidence.push(p.confidence); cols.priority.push(p.priority);
    cols.x.push(g.kind === 'point' || g.kind === 'box' ? g.x : null); cols.y.push(g.kind === 'point' || g.kind === 'box' ? g.y : null);
    cols.w.push(g.kind === 'box' ? g.width : null); cols.h.push(g.kind === 'box' ? g.height : null);
    const seg = g.kind === 'segmentation' ? g : undefined;
    cols.segW.push(seg ? seg.width : null); cols.segH.push(seg ? seg.height : null);
    cols.labelMap.push(seg ? bufferOf(seg.labelMap) : null); cols.confidenceMap.push(seg ? bufferOf(seg.confidenceMap) : null);
    cols.logitsMap.push(seg ? bufferOf(seg.logitsMap) : null); cols.numClasses.push(seg ? seg.numClasses : null);
  }
  const extraNames = Object.keys(extra);
  const extraColumns = extraNames.map((c) => `, ${c}`).join('');
  const extraValues = extraNames.map((_, i) => `, $${i + 3}`).join('');
  const at = 3 + extraNames.length;
  const arrays = ['uuid', 'uuid', 'text', 'float8', 'int', 'int', 'float8', 'float8', 'float8', 'float8', 'float8', 'int', 'int', 'bytea', 'bytea', 'bytea', 'int']
    .map((type, i) => `$${at + i}::${type}[]`).join(', ');
  return {
    text: `INSERT INTO ${table} (${COLUMNS}${extraColumns})
      SELECT u.image_id, $1, u.label_class_id, u.kind, u.confidence, ($2::float8[])[u.logits_start + 1 : u.logits_end],
             u.priority, u.x, u.y, u.width, u.height, u.seg_width, u.seg_height, u.label_map, u.confidence_map, u.logits_map, u.num_classes${extraValues}
      FROM unnest(${arrays})
        AS u(image_id, label_class_id, kind, confidence, logits_start, logits_end, priority, x, y, width, height, seg_width, seg_height,
             label_map, confidence_map, logits_map, num_classes)`,
    values: [stateId, numberArray(logits), ...Object.values(extra), uuidArray(cols.image), uuidArray(cols.cls), cols.kind, numberArray(cols.confidence), numberArray(starts), numberArray(ends),
      numberArray(cols.priority), numberArray(cols.x), numberArray(cols.y), numberArray(cols.w), numberArray(cols.h), numberArray(cols.segW), numberArray(cols.segH),
      cols.labelMap, cols.confidenceMap, cols.logitsMap, numberArray(cols.numClasses)],
  };
}

/**
 * Stores a state's predictions of some images at once (seeding, tests; an
 * inference run stages and commits instead). Idempotent per (state, image):
 * those images' earlier predictions of this state are replaced. State and
 * images must be the project's.
 */
export function insertPredictions(db: Db, project: string, stateId: string, images: readonly ImagePredictions[]): Promise<number> {
  return inTransaction(db, async (client) => {
    await getState(client, project, stateId);
    await imagesByIds(client, project, images.map((i) => i.imageId));
    await client.query('DELETE FROM predictions WHERE state_id = $1 AND image_id = ANY($2)', [stateId, uuidArray(images.map((i) => i.imageId))]);
    return insertPredictionRows(client, 'predictions', stateId, images);
  });
}

/*
 * An inference run replaces a state's predictions atomically: its predictions
 * are staged under the run's id as they arrive (invisible to every reader:
 * ListPredictions, StreamPredictions, NextBatch, ranking, golden scoring read
 * `predictions` only), and the run's end moves them into `predictions` in the
 * transaction that completes the job, deleting the state's earlier predictions
 * of the run's images. A failed or cancelled run discards its staged rows and
 * leaves the old set as it was.
 */

/** One execution of an inference job: a resumed job is a new run, so two runs of a job never share staged rows. */
export interface StagingRun {
  jobId: string;
  runId: string;
}

/**
 * Stages a run's predictions of some images, replacing what the run staged
 * for them before (a shard retried on another worker sends them again).
 * Nothing is looked up per batch: the job checked its state, and the commit
 * takes only the run's images (an id the run did not choose stays staged
 * until the run ends), through predictions' own foreign keys. The staging
 * table has none of its own (migration 0010).
 */
export function stagePredictions(db: Db, run: StagingRun, stateId: string, images: readonly ImagePredictions[]): Promise<number> {
  return inTransaction(db, async (client) => {
    await client.query('DELETE FROM staged_predictions WHERE run_id = $1 AND image_id = ANY($2)', [run.runId, uuidArray(images.map((i) => i.imageId))]);
    return insertPredictionRows(client, 'staged_predictions', stateId, images, { run_id: run.runId, job_id: run.jobId });
  });
}

/**
 * The run's staged predictions become the state's predictions of the run's
 * images (store/inference-images.ts: one it predicted nothing for, or could
 * not read, is left with none). Call inside the transaction that completes the job.
 */
export async function commitStagedPredictions(client: Db, run: StagingRun, stateId: string): Promise<void> {
  const runImages = 'SELECT image_id FROM inference_images WHERE run_id = $2';
  await client.query(`DELETE FROM predictions WHERE state_id = $1 AND image_id IN (${runImages})`, [stateId, run.runId]);
  await client.query(
    `INSERT INTO predictions (id, ${COLUMNS}) SELECT id, ${COLUMNS} FROM staged_predictions
     WHERE run_id = $2 AND state_id = $1 AND image_id IN (${runImages})`, [stateId, run.runId]);
  // The job is done: what earlier runs of it left (a controller that crashed mid-run) goes too.
  await client.query('DELETE FROM staged_predictions WHERE job_id = $1', [run.jobId]);
}

/** Drops what a run staged (it failed, or was committed). */
export async function discardStagedPredictions(db: Db, run: StagingRun): Promise<void> {
  await db.query('DELETE FROM staged_predictions WHERE run_id = $1', [run.runId]);
}

/**
 * Sets priorities a ranker assigned, by prediction id (16 bytes each, as
 * PriorityColumns carries them), within one state (the caller has checked it
 * is the project's): one statement per call, for a ranking job's batch as it
 * comes back. The ids travel as one bytea, cut into UUIDs by Postgres, instead
 * of a text array of 36-character strings, and the priorities as one array
 * literal joined at once (numbers print in their shortest exact form; NaN and
 * ±Infinity as float8 reads them) instead of element by element.
 */
export async function setPriorities(db: Db, stateId: string, ids: Uint8Array, priorities: readonly number[]): Promise<number> {
  if (ids.length !== priorities.length * 16) throw new Error(`${ids.length} bytes of ids for ${priorities.length} priorities`);
  const { rowCount } = await db.query(setPrioritiesQuery(stateId, ids, priorities));
  return rowCount ?? 0;
}

/**
 * setPriorities' statement, on its own so that its plan can be checked: each
 * prediction is found by its primary key. Given the page's array as a value,
 * the planner counts its thousands of elements and hashes them against a scan
 * of every prediction of the state, once per page (quadratic in the state,
 * and slower per page as the ranking's own dead row versions pile up in the
 * scan); through a scalar subquery it plans for a few and looks each one up.
 */
export function setPrioritiesQuery(stateId: string, ids: Uint8Array, priorities: readonly number[]): pg.QueryConfig {
  return {
    text: `UPDATE predictions p SET priority = u.priority
     FROM unnest((SELECT $3::float8[])) WITH ORDINALITY AS u(priority, n)
     WHERE p.id = encode(substring($2::bytea FROM (u.n::int - 1) * 16 + 1 FOR 16), 'hex')::uuid AND p.state_id = $1`,
    values: [stateId, bufferOf(ids), numberArray(priorities)],
  };
}

/**
 * Refreshes the planner's statistics of predictions, and of the images they
 * join, after a bulk change (an inference run's commit, a ranking's
 * priorities): with the old ones it would take a state's fresh priorities for
 * all zero and read NextBatch by a full sort instead of its index, or take a
 * project's freshly registered images for a handful and drive NextBatch from
 * them (400 ms instead of 2 at 100,000 images: registration does not analyse,
 * and autovacuum may be off or get there later). Postgres's advice after bulk
 * loads. A ranking changes the priorities alone, so only their statistics
 * are computed again (`changed: 'priorities'`; the row count is refreshed
 * either way): the logits arrays' element statistics are most of a whole
 * ANALYZE (45–55 ms against 185–305 ms at 100,000 predictions of 10 logits).
 * Of images, NextBatch's filters read the project and the path.
 */
export async function refreshPredictionStatistics(db: Db, changed: 'rows' | 'priorities' = 'rows'): Promise<void> {
  await db.query(changed === 'priorities' ? 'ANALYZE predictions (priority), images (project, file_path)' : 'ANALYZE predictions, images (project, file_path)');
}

/** How many predictions the state has. */
export async function countPredictions(db: Db, stateId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM predictions WHERE state_id = $1', [stateId]);
  return rows[0]!.n;
}

/** A page of a state's predictions as columns: what rankers that score confidence and logits alone need, as PredictionColumns carries it. */
export interface ScoreColumns {
  /** Prediction ids, 16 bytes each (the UUID's bytes), in order. */
  ids: Buffer;
  confidence: number[];
  /** Every prediction's logits, concatenated; logitsCount[i] of them for prediction i. */
  logits: number[];
  logitsCount: number[];
}

/** A page as Postgres sends it: each column's values in their send form, concatenated (null: no values). */
interface ColumnPageRow {
  count: number;
  ids: Buffer | null;
  confidence: Buffer | null;
  logits: Buffer | null;
  /** The page's last key, "<image_id> <id>". */
  last: string | null;
}

/** Predictions read per query for ranking by columns: a page is one Ranker message (about 40 bytes a prediction plus its logits). */
const COLUMN_PAGE = 8192;

/**
 * Every prediction of a state as columns, a keyset page (by image, then id)
 * at a time, so that memory holds one page whatever the state's size. For
 * label, point and box predictions (segmentation maps are not read).
 *
 * A page comes back as one row of binary columns (each value's send form,
 * concatenated by Postgres: UUIDs of 16 bytes, float8, float8 arrays; see
 * send-forms.ts): the driver decodes one hex string per column instead of
 * parsing a text row and a text array of logits per prediction. The columns
 * are aggregated in one pass over the page, so they stay aligned whatever
 * order it takes.
 */
export async function* scoreColumnsOfState(db: Db, stateId: string, pageSize = COLUMN_PAGE): AsyncGenerator<ScoreColumns> {
  for (let after: string[] | null = null; ;) {
    // image_id >= $2 lets the (state_id, image_id) index start where the last page ended; the rest of the key filters.
    const { rows: [page] }: { rows: ColumnPageRow[] } = await db.query<ColumnPageRow>(
      `WITH page AS MATERIALIZED (
         SELECT id, image_id, confidence, logits FROM predictions
         WHERE state_id = $1 AND ($2::uuid IS NULL OR (image_id >= $2 AND (image_id > $2 OR id > $3::uuid)))
         ORDER BY image_id, id LIMIT $4)
       SELECT count(*)::int AS count,
              string_agg(uuid_send(id), ''::bytea) AS ids,
              string_agg(float8send(confidence), ''::bytea) AS confidence,
              string_agg(array_send(logits), ''::bytea) AS logits,
              (SELECT image_id || ' ' || id FROM page ORDER BY image_id DESC, id DESC LIMIT 1) AS last
       FROM page`,
      [stateId, after?.[0] ?? null, after?.[1] ?? null, pageSize]);
    if (!page || page.count === 0) return;
    const logits = float8Arrays(page.logits);
    yield { ids: page.ids!, confidence: float8s(page.confidence), logits: logits.values, logitsCount: logits.counts };
    if (page.count < pageSize) return;
    after = page.last!.split(' ');
  }
}

/** Predictions of one state, optionally of one image, by id. */
export async function listPredictions(db: Db, project: string, filter: { stateId: string; imageId?: string }, page: PageQuery): Promise<Prediction[]> {
  const rows = await predictionRows(db,
    `SELECT ${PREDICTION_COLUMNS} FROM predictions p JOIN images i ON i.id = p.image_id
     WHERE i.project = $1 AND p.state_id = $2 AND ($3::uuid IS NULL OR p.image_id = $3) AND ($4::uuid IS NULL OR p.id > $4)
     ORDER BY p.id LIMIT $5`,
    [project, filter.stateId, filter.imageId ?? null, page.after ?? null, page.limit]);
  return rows.map((r) => toPrediction(filter.stateId, r));
}

/** Every prediction of a state (or of its predictions of some images), grouped by image: golden questions' answers. */
export async function predictionsOfState(db: Db, project: string, stateId: string, imageIds?: readonly string[]): Promise<StoredImagePredictions[]> {
  const rows = await predictionRows(db,
    `SELECT ${PREDICTION_COLUMNS} FROM predictions p JOIN images i ON i.id = p.image_id
     WHERE i.project = $1 AND p.state_id = $2 AND ($3::uuid[] IS NULL OR p.image_id = ANY($3)) ORDER BY p.image_id, p.id`,
    [project, stateId, imageIds ? [...imageIds] : null]);
  return byImage(stateId, rows);
}

/**
 * The state's predictions of a group of predictedImageGroups (its images in id order), grouped by image: one
 * range of the (state_id, image_id) index from the group's first image to its last, no join (the state is
 * the project's: callers check). The group holds every image of the state in that range.
 */
export async function predictionsOfImageGroup(db: Db, stateId: string, imageIds: readonly string[]): Promise<StoredImagePredictions[]> {
  const rows = await predictionRows(db,
    `SELECT ${PREDICTION_COLUMNS} FROM predictions p
     WHERE p.state_id = $1 AND p.image_id BETWEEN $2 AND $3 ORDER BY p.image_id, p.id`,
    [stateId, imageIds[0], imageIds.at(-1)]);
  return byImage(stateId, rows);
}

const IMAGES_PER_QUERY = 1000;
/** Bytes of predictions (their maps) read in one query: one image larger than this is read alone. */
const BYTES_PER_QUERY = 16 << 20;

/** How many images have predictions of the state. */
export async function countPredictedImages(db: Db, project: string, stateId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(DISTINCT p.image_id)::int AS n FROM predictions p JOIN images i ON i.id = p.image_id WHERE i.project = $1 AND p.state_id = $2`,
    [project, stateId]);
  return rows[0]!.n;
}

/**
 * The images with predictions of the state, in id order, as groups to read in one query each
 * (predictionsOfImageGroup: a thousand small images, or as many as fit BYTES_PER_QUERY of segmentation maps,
 * a larger image alone), so that memory stays bounded however many images and however large their maps: a
 * keyset page of ids with the bytes of their maps per query, cut where a group would exceed BYTES_PER_QUERY.
 * The state is the project's (callers check).
 */
export async function* predictedImageGroups(db: Db, stateId: string): AsyncGenerator<string[]> {
  for (let after: string | null = null; ;) {
    const rows: { image_id: string; bytes: string }[] = (await db.query<{ image_id: string; bytes: string }>(
      // The state is the project's (callers check): its predictions alone, by the (state_id, image_id) index.
      `SELECT p.image_id,
              sum(coalesce(octet_length(p.label_map), 0) + coalesce(octet_length(p.confidence_map), 0) + coalesce(octet_length(p.logits_map), 0)) AS bytes
       FROM predictions p
       WHERE p.state_id = $1 AND ($2::uuid IS NULL OR p.image_id > $2)
       GROUP BY p.image_id ORDER BY p.image_id LIMIT $3`,
      [stateId, after, IMAGES_PER_QUERY])).rows;
    let group: string[] = [];
    let bytes = 0;
    for (const r of rows) {
      if (group.length > 0 && bytes + Number(r.bytes) > BYTES_PER_QUERY) {
        yield group;
        group = [];
        bytes = 0;
      }
      group.push(r.image_id);
      bytes += Number(r.bytes);
    }
    if (group.length > 0) yield group;
    if (rows.length < IMAGES_PER_QUERY) return;
    after = rows.at(-1)!.image_id;
  }
}

export interface BatchFilter {
  /** Only paths that start with it ('' = all). */
  pathPrefix: string;
  /** Leave out paths that start with any of them. */
  excludePrefixes: readonly string[];
}

export interface BatchEntry {
  imageId: string;
  priority: number;
}

/** A NextBatch page cursor: the last entry's priority and image id (the listing's order). */
export const batchCursor = (e: BatchEntry): string => JSON.stringify([e.priority, e.imageId]);

/**
 * Unannotated images of the project by their highest prediction priority of
 * the state, highest first (ties by image id), filtered by path, one keyset
 * page after `page.after` (a batchCursor). The state's predictions are read
 * in that order from an index (state_id, priority DESC, image_id), each
 * image's highest one standing for it (of equals, the lowest id), so a page
 * costs about its own rows however many predictions the state has.
 */
export async function nextBatch(db: Db, project: string, stateId: string, filter: BatchFilter, page: PageQuery): Promise<BatchEntry[]> {
  const { rows } = await db.query<{ image_id: string; priority: number }>(nextBatchQuery(project, stateId, filter, page));
  return rows.map((r) => ({ imageId: r.image_id, priority: r.priority }));
}

/** NextBatch's query, on its own so that its plan can be checked (it must walk the priority index, not sort). */
export function nextBatchQuery(project: string, stateId: string, filter: BatchFilter, page: PageQuery): pg.QueryConfig {
  const [afterPriority, afterId] = page.after === undefined ? [null, null] : JSON.parse(page.after) as [number, string];
  return {
    text: `SELECT p.image_id, p.priority
     FROM predictions p JOIN images i ON i.id = p.image_id
     WHERE p.state_id = $2 AND i.project = $1
       AND p.priority <= coalesce($5::float8, 'Infinity') -- the index's bound; ties at $5 then by image id
       AND ($5::float8 IS NULL OR p.priority < $5 OR p.image_id > $6::uuid)
       AND starts_with(i.file_path, $3)
       AND NOT EXISTS (SELECT 1 FROM unnest($4::text[]) e(prefix) WHERE starts_with(i.file_path, e.prefix))
       AND NOT EXISTS (SELECT 1 FROM annotations a WHERE a.image_id = p.image_id)
       AND NOT EXISTS (SELECT 1 FROM predictions q WHERE q.state_id = p.state_id AND q.image_id = p.image_id
                       AND (q.priority > p.priority OR (q.priority = p.priority AND q.id < p.id)))
     ORDER BY p.priority DESC, p.image_id LIMIT $7`,
    values: [project, stateId, filter.pathPrefix, filter.excludePrefixes, afterPriority, afterId, page.limit],
  };
}
