import { signFileUrl } from '../../../libs/auth/signed-url.js';
import { failedPrecondition } from '../../../libs/errors.js';
import { getProject } from '../store/projects.js';
import * as store from '../store/images.js';
import { imageToProto } from '../wire/image.js';
import type { ControllerDeps, ControllerHandlers } from './deps.js';
import { filter, id, someIds, text } from './fields.js';
import { registerImages } from './image-registration.js';
import { paginate } from './paging.js';

/** Signed image URLs live minutes, not days: they stand in for the token in a browser's <img>. */
const DEFAULT_URL_TTL_S = 300;
const MAX_URL_TTL_S = 24 * 3600;

export function imageHandlers(deps: ControllerDeps): Pick<ControllerHandlers,
  'registerImages' | 'listImages' | 'getImage' | 'setGoldenQuestions' | 'getImageUrl'> {
  const { pool } = deps;
  return {
    async registerImages(req, ctx) {
      await getProject(pool, req.project);
      return registerImages(pool, req.project, deps.files(req.project), text('prefix', req.prefix), ctx.signal);
    },

    async listImages(req) {
      await getProject(pool, req.project);
      const f = { annotated: filter(req.annotated), hasPredictions: filter(req.hasPredictions), goldenQuestion: filter(req.goldenQuestion) };
      const page = await paginate(req, `images:${req.project}:${JSON.stringify(f)}`, (p) => store.listImages(pool, req.project, f, p), (i) => i.filePath);
      return { images: page.items.map(imageToProto), nextPageToken: page.nextPageToken };
    },

    async getImage(req) {
      return { image: imageToProto(await store.getImage(pool, req.project, id('id', req.id))) };
    },

    async setGoldenQuestions(req) {
      return { updated: await store.setGoldenQuestions(pool, req.project, someIds('image_ids', req.imageIds), req.goldenQuestion) };
    },

    // Signed FileServer URLs arrive with the security work ([FileServer] url_signing_key).
    async getImageUrl(req) {
      const image = await store.getImage(pool, req.project, id('image_id', req.imageId));
      if (!deps.urlSigningKey) throw failedPrecondition('image URLs need [FileServer] url_signing_key (shared with the FileServer)');
      const ttl = Math.min(Math.max(req.ttlSeconds || DEFAULT_URL_TTL_S, 1), MAX_URL_TTL_S);
      const expiresAt = new Date(Date.now() + ttl * 1000);
      return { url: signFileUrl({ project: req.project, path: image.filePath, expiresAt }, deps.urlSigningKey), expiresAtUnix: Math.floor(expiresAt.getTime() / 1000) };
    },
  };
}
