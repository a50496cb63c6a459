/**
 * Deleting a project: N images, S states each with a prediction and an
 * embedding per image, left by S inference runs (each staged its rows and
 * deleted them again, as runs do), then DeleteProject's statement (everything
 * goes by cascade). Measured on a fresh controller schema as migrated,
 * against the reference in the same run: the same data with migration 0009's
 * indexes (every foreign key to images by image_id) dropped, as before it.
 *
 *   node --import tsx bench/controller/delete-project.ts [--images 4000] [--states 4] [--embedded]
 *
 * --embedded: PGlite (the embedded default) instead of the real Postgres.
 * Prints a table and `figure delete_project_s <seconds>`, `figure delete_project_s_unindexed <seconds>`.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BlobFolder } from '../../libs/blob/index.js';
import { migrate, openDatabase } from '../../libs/db/index.js';
import { CONTROLLER_MIGRATIONS } from '../../services/controller/schema/index.js';
import { insertImages } from '../../services/controller/store/images.js';
import { addLabelClasses } from '../../services/controller/store/label-classes.js';
import { insertPredictions } from '../../services/controller/store/predictions.js';
import { deleteProject } from '../../services/controller/store/projects.js';
import { insertLabelsProject, insertOneClassState } from '../../test/support/controller-db.js';
import { realPostgresUrl } from '../../test/support/postgres.js';

const { values: args } = parseArgs({
  options: { images: { type: 'string', default: '4000' }, states: { type: 'string', default: '4' }, embedded: { type: 'boolean', default: false } },
});
const images = Number(args.images);
const statesPerProject = Number(args.states);
const PROJECT = 'doomed';
const CHUNK = 2_000;
const url = args.embedded ? undefined : await realPostgresUrl();
if (!args.embedded && !url) throw new Error('the real Postgres does not answer (or pass --embedded)');

/** Seconds DeleteProject's statement takes on a fresh schema; `unindexed`: without migration 0009's indexes. */
async function deleteSeconds(unindexed: boolean): Promise<number> {
  const schema = `bench_delete_${process.pid}_${unindexed ? 'unindexed' : 'indexed'}`;
  const database = await openDatabase({ url, schema, poolSize: 2 });
  const db = database.pool;
  const dir = await mkdtemp(path.join(tmpdir(), 'aide-bench-delete-'));
  try {
    await db.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await migrate(db, CONTROLLER_MIGRATIONS);
    if (unindexed) {
      // 0009's indexes on the staging tables went again with their keys to images (migration 0010).
      await db.query('DROP INDEX predictions_image, image_embeddings_image, golden_results_image, inference_images_image');
    }
    await insertLabelsProject(db, PROJECT);
    const store = { db, blobs: await BlobFolder.open(dir, { sync: false }) };
    const [cls] = await addLabelClasses(db, PROJECT, [{ name: 'a', color: '' }]);
    for (let s = 0; s < images; s += CHUNK) {
      await insertImages(db, PROJECT, Array.from({ length: Math.min(CHUNK, images - s) }, (_, j) => ({ filePath: `${s + j}.png`, sizeBytes: 1, width: 8, height: 8 })));
    }
    const ids = (await db.query<{ id: string }>('SELECT id FROM images WHERE project = $1', [PROJECT])).rows.map((r) => r.id);
    for (let k = 0; k < statesPerProject; k++) {
      const state = await insertOneClassState(store, PROJECT, cls!.id);
      for (let s = 0; s < ids.length; s += CHUNK) {
        await insertPredictions(db, PROJECT, state.id, ids.slice(s, s + CHUNK).map((imageId) => ({
          imageId, predictions: [{ labelClassId: cls!.id, confidence: 0.5, logits: [0.5], priority: 0, geometry: { kind: 'label' as const } }],
        })));
      }
      await db.query(`INSERT INTO image_embeddings SELECT $1, id, 2, '\\x00000000'::bytea FROM images WHERE project = $2`, [state.id, PROJECT]);
      // What the run that wrote them staged and deleted: dead rows until a vacuum.
      const run = randomUUID();
      const { rows: [job] } = await db.query<{ id: string }>(`INSERT INTO jobs (project, kind) VALUES ($1, 'inference') RETURNING id`, [PROJECT]);
      await db.query(`INSERT INTO inference_images SELECT $1, $2, 0, file_path, id, false FROM images WHERE project = $3`, [run, job!.id, PROJECT]);
      await db.query('INSERT INTO staged_predictions SELECT p.*, $1, $2 FROM predictions p WHERE state_id = $3', [run, job!.id, state.id]);
      await db.query('INSERT INTO staged_image_embeddings SELECT $1, $2, state_id, image_id, dim, float16 FROM image_embeddings WHERE state_id = $3', [run, job!.id, state.id]);
      for (const table of ['inference_images', 'staged_predictions', 'staged_image_embeddings']) await db.query(`DELETE FROM ${table} WHERE run_id = $1`, [run]);
    }
    await db.query('ANALYZE');
    const t0 = performance.now();
    await deleteProject(db, PROJECT);
    const seconds = (performance.now() - t0) / 1000;
    const left = (await db.query<{ n: string }>('SELECT (SELECT count(*) FROM predictions) + (SELECT count(*) FROM image_embeddings) + (SELECT count(*) FROM images) AS n')).rows[0]!.n;
    if (Number(left) !== 0) throw new Error(`${left} rows left after the delete`);
    return seconds;
  } finally {
    if (url) await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await database.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const indexed = await deleteSeconds(false);
const unindexed = await deleteSeconds(true);
const rows = images * statesPerProject;
console.log(`\n| ${args.embedded ? 'PGlite' : 'Postgres'}: ${images} images, ${statesPerProject} states (${rows} predictions + ${rows} embeddings) | DeleteProject s |`);
console.log('|---|---:|');
console.log(`| with the image indexes | ${indexed.toFixed(2)} |`);
console.log(`| without them (before migration 0009) | ${unindexed.toFixed(2)} |`);
console.log(`figure delete_project_s ${indexed.toFixed(3)}`);
console.log(`figure delete_project_s_unindexed ${unindexed.toFixed(3)}`);
