/** ImportModelState: a header, then the state's chunks, stored only when complete, intact and a state of the model it claims. */
import { payload, peekHead, StreamParts, verifyAnnouncedChunks, type VerifiedPieces } from '../../../libs/blob/index.js';
import { invalidField } from '../../../libs/errors.js';
import type { ImportModelStateHeader, ImportModelStateRequest } from '../../../libs/gen/aide/v1/controller.js';
import { STATE_HEAD_BYTES } from '../../../libs/plugin/plugin.js';
import type { Registry } from '../../../libs/plugin/registry.js';
import type { ModelStateInfo, ModelStateMeta } from '../domain.js';
import type { Db } from '../store/db.js';
import { listLabelClasses } from '../store/label-classes.js';
import { insertState, type StateStore } from '../store/model-states.js';
import { getProject } from '../store/projects.js';
import { modelMismatch } from './project-settings.js';

async function metaOf(db: Db, registry: Registry, h: ImportModelStateHeader): Promise<ModelStateMeta> {
  const project = await getProject(db, h.project);
  const mismatch = modelMismatch(registry, h.modelLibrary, project);
  if (mismatch) throw invalidField('header.model_library', mismatch);
  const classes = new Set((await listLabelClasses(db, h.project)).map((c) => c.id));
  const unknown = Object.keys(h.labelClassMap).find((id) => !classes.has(id));
  if (unknown !== undefined) throw invalidField('header.label_class_map', `'${unknown}' is not a label class of project '${h.project}'`);
  return { project: h.project, modelLibrary: h.modelLibrary, labelClassMap: h.labelClassMap, stats: h.stats, parentId: null, numImages: h.numImages };
}

/**
 * Verified as it streams (offsets, sizes, SHA-256 of the last chunk) straight
 * into the store's transaction: a truncated or corrupt upload rolls back and
 * leaves nothing; the state is never held whole in memory. Its first bytes go
 * to the model's verifyState before anything is stored: bytes that are no
 * state of the declared model are INVALID_ARGUMENT, with the model's reason.
 */
export async function importModelState(
  store: StateStore, registry: Registry, requests: AsyncIterable<ImportModelStateRequest>, opts: { maxBytes: number; signal: AbortSignal },
): Promise<ModelStateInfo> {
  const parts = new StreamParts(requests);
  const header = await parts.take(payload('header'), 'header');
  // A blob longer or shorter than the header announced is DATA_LOSS, as a corrupt one is.
  const pieces = verifyAnnouncedChunks(parts.chunks(payload('chunk')), { size: header.size, signal: opts.signal, what: 'the header' });
  const info = await storeImport(store, registry, header, pieces, opts);
  await parts.end('the last chunk');
  return info;
}

/**
 * What every import route (gRPC, the state lane) does with a header and the
 * bytes it announced, verified as they pass by the route: the size limit, the
 * project and its model, the model's verifyState on the first bytes, then the
 * store, with the digest the route checked (one hash per hop).
 */
export async function storeImport(
  store: StateStore, registry: Registry, header: ImportModelStateHeader, pieces: VerifiedPieces, opts: { maxBytes: number },
): Promise<ModelStateInfo> {
  if (header.size > opts.maxBytes) throw invalidField('header.size', `exceeds the limit of ${opts.maxBytes} bytes`);
  const meta = await metaOf(store.db, registry, header);
  const { head, all } = await peekHead(pieces, STATE_HEAD_BYTES);
  const refused = await registry.verifyState(meta.modelLibrary, head, header.size);
  if (refused !== undefined) throw invalidField('chunk', `not a model state of '${meta.modelLibrary}': ${refused}`);
  return insertState(store, meta, all, { sha256: () => pieces.sha256 });
}
