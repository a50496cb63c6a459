import type pg from 'pg';
import { notFound } from '../../../libs/errors.js';
import type { AnnotationType, NewProject, PageQuery, Project, ProjectSettings } from '../domain.js';
import { type Db, unique } from './db.js';

interface ProjectRow {
  name: string;
  display_name: string;
  annotation_type: AnnotationType;
  prediction_type: AnnotationType;
  settings: ProjectSettings;
  current_state_id: string | null;
  annotations_since_training: number;
  created_at: Date;
}

const toProject = (r: ProjectRow): Project => ({
  name: r.name,
  displayName: r.display_name,
  annotationType: r.annotation_type,
  predictionType: r.prediction_type,
  settings: r.settings,
  currentStateId: r.current_state_id,
  annotationsSinceTraining: r.annotations_since_training,
  createdAt: r.created_at,
});

export async function insertProject(db: Db, p: NewProject): Promise<Project> {
  const { rows } = await unique(`project '${p.name}'`, () => db.query<ProjectRow>(
    `INSERT INTO projects (name, display_name, annotation_type, prediction_type, settings)
     VALUES ($1, $2, $3, $4, $5) RETURNING *`,
    [p.name, p.displayName, p.annotationType, p.predictionType, JSON.stringify(p.settings)],
  ));
  return toProject(rows[0]!);
}

/** The project, or NOT_FOUND. */
export async function getProject(db: Db, name: string): Promise<Project> {
  const { rows } = await db.query<ProjectRow>('SELECT * FROM projects WHERE name = $1', [name]);
  if (!rows[0]) throw notFound(`project '${name}'`);
  return toProject(rows[0]);
}

/**
 * Locks the project row for the rest of the transaction (NOT_FOUND if it does
 * not exist): serialises version and class-index allocation per project.
 */
export async function lockProject(client: pg.PoolClient, name: string): Promise<Project> {
  const { rows } = await client.query<ProjectRow>('SELECT * FROM projects WHERE name = $1 FOR UPDATE', [name]);
  if (!rows[0]) throw notFound(`project '${name}'`);
  return toProject(rows[0]);
}

/** Projects by name; `only` restricts to those names (a caller's visible projects), undefined = all. */
export async function listProjects(db: Db, page: PageQuery, only?: readonly string[]): Promise<Project[]> {
  const { rows } = await db.query<ProjectRow>(
    `SELECT * FROM projects
     WHERE ($1::text IS NULL OR name > $1) AND ($2::text[] IS NULL OR name = ANY($2))
     ORDER BY name LIMIT $3`,
    [page.after ?? null, only ? [...only] : null, page.limit],
  );
  return rows.map(toProject);
}

/**
 * Stores the settings. A change of model also changes the current state to
 * the newest of the new model (none: its next training starts afresh): a
 * state of one model never silently feeds another.
 */
export async function updateProjectSettings(db: Db, name: string, settings: ProjectSettings): Promise<Project> {
  const { rows } = await db.query<ProjectRow>(
    `UPDATE projects SET settings = $2, current_state_id = CASE WHEN settings->>'modelLibrary' IS NOT DISTINCT FROM $3 THEN current_state_id ELSE
       (SELECT id FROM model_states WHERE project = $1 AND model_library = $3 AND NOT partial ORDER BY version DESC LIMIT 1) END
     WHERE name = $1 RETURNING *`,
    [name, JSON.stringify(settings), settings.modelLibrary]);
  if (!rows[0]) throw notFound(`project '${name}'`);
  return toProject(rows[0]);
}

/** Deletes the project and (cascading) everything in it. */
export async function deleteProject(db: Db, name: string): Promise<void> {
  const { rowCount } = await db.query('DELETE FROM projects WHERE name = $1', [name]);
  if (!rowCount) throw notFound(`project '${name}'`);
}

/** Counts annotations written since the last training (the auto-train trigger). */
export async function addAnnotationsSinceTraining(db: Db, name: string, n: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    'UPDATE projects SET annotations_since_training = annotations_since_training + $2 WHERE name = $1 RETURNING annotations_since_training AS n',
    [name, n],
  );
  if (!rows[0]) throw notFound(`project '${name}'`);
  return rows[0].n;
}

/** Called when a training starts from the annotations counted so far. */
export async function resetAnnotationsSinceTraining(db: Db, name: string): Promise<void> {
  await db.query('UPDATE projects SET annotations_since_training = 0 WHERE name = $1', [name]);
}
