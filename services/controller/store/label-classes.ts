import { notFound } from '../../../libs/errors.js';
import type { LabelClass } from '../domain.js';
import { type Db, inTransaction, unique } from './db.js';
import { lockProject } from './projects.js';

interface LabelClassRow {
  id: string;
  project: string;
  name: string;
  color: string;
  idx: number;
}

const toLabelClass = (r: LabelClassRow): LabelClass => ({ id: r.id, project: r.project, name: r.name, color: r.color, index: r.idx });

/**
 * Adds classes, in order, with the next free indices (indices of removed classes are not reused: old masks still
 * hold them) in one statement: all or none (a name taken, within the project or twice in the list, refuses them all).
 */
export function addLabelClasses(db: Db, project: string, classes: readonly { name: string; color: string }[]): Promise<LabelClass[]> {
  return inTransaction(db, async (client) => {
    await lockProject(client, project);
    const names = classes.map((c) => c.name);
    const { rows } = await unique(`label class '${names.join("', '")}'`, () => client.query<LabelClassRow>(
      `INSERT INTO label_classes (project, name, color, idx)
       SELECT $1, c.name, c.color, (SELECT coalesce(max(idx), 0) FROM label_classes WHERE project = $1) + c.n
       FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS c(name, color, n)
       ORDER BY c.n RETURNING *`,
      [project, names, classes.map((c) => c.color)],
    ));
    return rows.map(toLabelClass).sort((a, b) => a.index - b.index);
  });
}

export async function addLabelClass(db: Db, project: string, c: { name: string; color: string }): Promise<LabelClass> {
  return (await addLabelClasses(db, project, [c]))[0]!;
}

/** Renames and/or recolours; undefined fields stay. */
export async function updateLabelClass(db: Db, project: string, id: string, change: { name?: string; color?: string }): Promise<LabelClass> {
  const { rows } = await unique(`label class '${change.name}'`, () => db.query<LabelClassRow>(
    `UPDATE label_classes SET name = coalesce($3, name), color = coalesce($4, color)
     WHERE project = $1 AND id = $2 RETURNING *`,
    [project, id, change.name ?? null, change.color ?? null],
  ));
  if (!rows[0]) throw notFound(`label class ${id}`);
  return toLabelClass(rows[0]);
}

/** Removes the class and its annotations. */
export async function removeLabelClass(db: Db, project: string, id: string): Promise<void> {
  const { rowCount } = await db.query('DELETE FROM label_classes WHERE project = $1 AND id = $2', [project, id]);
  if (!rowCount) throw notFound(`label class ${id}`);
}

/** The project's classes by index. */
export async function listLabelClasses(db: Db, project: string): Promise<LabelClass[]> {
  const { rows } = await db.query<LabelClassRow>('SELECT * FROM label_classes WHERE project = $1 ORDER BY idx', [project]);
  return rows.map(toLabelClass);
}
