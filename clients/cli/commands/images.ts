import { readdir, readFile } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import type { Command } from 'commander';
import mime from 'mime-types';
import { pMapIterable } from 'p-map';
import { ListImagesResponse, NextBatchResponse, RegisterImagesResponse, SetGoldenQuestionsResponse } from '../../../libs/gen/aide/v1/controller.js';
import { UsageError } from '../failure.js';
import { allPages } from '../pages.js';
import { count } from '../parse.js';
import { progressBar } from '../progress-bar.js';
import { withSession } from '../session.js';

/** Image files under `folder`, recursively, as paths relative to it (sorted, '/'-separated). */
async function imageFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch((err: Error) => {
    throw new UsageError(`cannot read folder ${folder}: ${err.message}`);
  });
  return entries
    .filter((e) => e.isFile() && String(mime.lookup(e.name)).startsWith('image/'))
    .map((e) => relative(folder, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

export function registerImages(program: Command): void {
  const images = program.command('images').description('images of a project');

  images.command('import <project> <folder>')
    .description('upload a folder of images to the project\'s FileServer folder (one stream, files read in parallel), then register them')
    .option('--to <folder>', 'destination folder in the project (default: the source folder\'s name)')
    .option('--concurrency <n>', 'files read from disk at once', count, 16)
    .action(withSession(async (session, project: string, folder: string, o: { to?: string; concurrency: number }) => {
      const files = await imageFiles(folder);
      if (files.length === 0) throw new UsageError(`no image files under ${folder}`);
      const prefix = o.to ?? basename(folder);
      const fileServer = session.files(project);
      const bar = progressBar();
      bar.start(files.length, 0, { message: 'uploading' });
      try {
        // Read ahead in parallel, in order; the stream's backpressure bounds how far.
        const contents = pMapIterable(files, async (file) => ({ path: `${prefix}/${file}`, content: await readFile(join(folder, file)) }),
          { concurrency: Math.max(1, o.concurrency) });
        await fileServer.putFiles(contents, { onSent: (sent) => bar.update(sent, { message: files[sent - 1] }) });
      } finally {
        bar.stop();
      }
      const res = await session.controller.registerImages({ project, prefix });
      session.print(res, RegisterImagesResponse, (r) => [`uploaded ${files.length} files to ${project}/${prefix}: ${r.added} images registered, ${r.alreadyKnown} already known`]);
    }));

  images.command('list <project>').description('list the project\'s images')
    .action(withSession(async (session, project: string) => {
      const all = await allPages((pageToken) =>
        session.controller.listImages({ project, annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: 500, pageToken }), (p) => p.images);
      session.print({ images: all, nextPageToken: '' }, ListImagesResponse, (r) => r.images.map((img) =>
        `${img.id}  ${img.filePath.padEnd(32)} ${img.width}×${img.height}  annotations ${img.annotationCount}${img.hasPredictions ? '  predicted' : ''}${img.goldenQuestion ? '  golden' : ''}`));
    }));

  images.command('golden <project> <ids...>').description('flag images as golden questions (known answers that score annotators and models)')
    .option('--unset', 'unflag them instead')
    .action(withSession(async (session, project: string, ids: string[], o: { unset?: boolean }) => {
      const res = await session.controller.setGoldenQuestions({ project, imageIds: ids, goldenQuestion: !o.unset });
      session.print(res, SetGoldenQuestionsResponse, (r) => [`${o.unset ? 'unflagged' : 'flagged'} ${r.updated} images`]);
    }));

  images.command('next <project>').description('the images to annotate next, most useful first (after `aide rank`)')
    .option('--limit <n>', 'how many (a page; at most 1000)', count, 10)
    .option('--prefix <path>', 'only images whose path starts with it', '')
    .option('--exclude <prefixes>', 'leave out paths starting with any of these (comma-separated)', (v) => v.split(','), [] as string[])
    .option('--page-token <token>', 'the page after the one that printed this token', '')
    .action(withSession(async (session, project: string, o: { limit: number; prefix: string; exclude: string[]; pageToken: string }) => {
      const res = await session.controller.nextBatch({
        project, limit: o.limit, pathPrefix: o.prefix, excludePrefixes: o.exclude, pageToken: o.pageToken,
      });
      session.print(res, NextBatchResponse, (r) => r.images.map((img, i) => `${(r.priorities[i] ?? 0).toFixed(3)}  ${img.filePath}`));
      // Beside the listing, not in it: its lines stay one image each for scripts.
      if (!session.json && res.nextPageToken) process.stderr.write(`more: --page-token ${res.nextPageToken}\n`);
    }));
}
