import { notFound } from '../../../libs/errors.js';
import type { AnnotationType, MarketplaceEntry } from '../domain.js';
import type { Db } from './db.js';

interface EntryRow {
  id: string;
  name: string;
  description: string;
  author: string;
  annotation_type: AnnotationType;
  prediction_type: AnnotationType;
  origin_project: string;
  model_library: string;
  model_state_id: string;
  label_class_names: Record<string, number>;
  created_at: Date;
}

const toEntry = (r: EntryRow): MarketplaceEntry => ({
  id: r.id,
  name: r.name,
  description: r.description,
  author: r.author,
  annotationType: r.annotation_type,
  predictionType: r.prediction_type,
  originProject: r.origin_project,
  modelLibrary: r.model_library,
  modelStateId: r.model_state_id,
  labelClassNames: r.label_class_names,
  createdAt: r.created_at,
});

export async function insertEntry(db: Db, e: Omit<MarketplaceEntry, 'id' | 'createdAt'>): Promise<MarketplaceEntry> {
  const { rows } = await db.query<EntryRow>(
    `INSERT INTO marketplace_entries (name, description, author, annotation_type, prediction_type, origin_project, model_library, model_state_id, label_class_names)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
    [e.name, e.description, e.author, e.annotationType, e.predictionType, e.originProject, e.modelLibrary, e.modelStateId, JSON.stringify(e.labelClassNames)],
  );
  return toEntry(rows[0]!);
}

export async function getEntry(db: Db, id: string): Promise<MarketplaceEntry> {
  const { rows } = await db.query<EntryRow>('SELECT * FROM marketplace_entries WHERE id = $1', [id]);
  if (!rows[0]) throw notFound(`marketplace entry ${id}`);
  return toEntry(rows[0]);
}

/** Newest first, optionally of one annotation type. */
export async function listEntries(db: Db, filter: { annotationType?: AnnotationType }): Promise<MarketplaceEntry[]> {
  const { rows } = await db.query<EntryRow>(
    'SELECT * FROM marketplace_entries WHERE ($1::text IS NULL OR annotation_type = $1) ORDER BY created_at DESC, id',
    [filter.annotationType ?? null]);
  return rows.map(toEntry);
}
