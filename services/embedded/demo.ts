/**
 * The demo `npm start` runs against the embedded mesh: a project of generated
 * aerial tiles, half of them labelled, then the built-in CNN (builtin.labels)
 * trained on them → inference → rank with live progress, what the network
 * learned (its accuracy on labelled tiles it did not train on), and the
 * images the annotator should look at next.
 */
import cliProgress from 'cli-progress';
import { AnnotationType, JobState, type Image } from '../../libs/gen/aide/v1/common.js';
import type { ControllerServiceService } from '../../libs/gen/aide/v1/controller.js';
import type { Client } from '../../libs/grpc/index.js';
import type { FileServerClient } from '../../libs/fileserver-client/index.js';
import { drawTile, rng, TILE_CLASSES } from './scene.js';

export interface DemoOptions {
  controller: Client<typeof ControllerServiceService>;
  /** The demo project's folder on the FileServer. */
  files: FileServerClient;
  project: string;
  images: number;
  numWorkers: number;
  /** Where a browser reaches the FileServer's HTTP side. */
  fileServerHttp: string;
  out?: NodeJS.WritableStream;
}

export interface DemoResult {
  jobId: string;
  state: JobState;
  top: { file: string; priority: number; id: string }[];
}

const percent = (x: number): string => `${(100 * x).toFixed(0)} %`;

/** The newest model state's statistics in words: accuracy on held-out tiles, and the training loss. */
async function whatItLearned(c: DemoOptions['controller'], project: string): Promise<string | undefined> {
  const { states } = await c.getTrainingStatistics({ project });
  const stats = states.at(-1)?.stats;
  if (stats?.heldOutAccuracy === undefined) return undefined;
  const chance = 1 / TILE_CLASSES.length;
  return `▶ the CNN learned: held-out accuracy ${percent(stats.heldOutAccuracy)} on ${stats.heldOutImages} labelled tiles it did not train on ` +
    `(chance: ${percent(chance)}; training loss ${stats.trainLoss?.toFixed(3)} after ${stats.epochs} epochs on ${stats.images} tiles)`;
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const out = o.out ?? process.stdout;
  const say = (line: string) => out.write(`${line}\n`);
  const random = rng(42);

  say(`\n▶ generating ${o.images} aerial tiles (${TILE_CLASSES.map((c) => c.name).join(', ')}) on the FileServer`);
  const truth: string[] = [];
  for (let i = 0; i < o.images; i++) {
    const cls = i % TILE_CLASSES.length;
    truth.push(TILE_CLASSES[cls]!.name);
    await o.files.putFile(`tiles/tile_${String(i).padStart(3, '0')}.jpg`, await drawTile(cls, random));
  }

  const c = o.controller;
  await c.deleteProject({ project: o.project }).catch(() => {});
  await c.createProject({
    name: o.project, displayName: 'AIDE mesh demo', annotationType: AnnotationType.ANNOTATION_TYPE_LABELS,
    predictionType: AnnotationType.ANNOTATION_TYPE_LABELS,
    settings: {
      // A quarter of the labelled tiles held out (the default tenth would be two or three tiles here),
      // so the accuracy the demo reports means something. One replica thread per worker: on tiles this
      // small a second one trains no faster and takes a core from the other worker (13.9 s against 16 s).
      modelLibrary: 'builtin.labels', modelOptionsJson: JSON.stringify({ options: { training: { validationFraction: { value: 0.25 } }, runtime: { threads: { value: 1 } } } }),
      rankerLibrary: 'builtin.breaking_ties', rankerOptionsJson: '',
      autoTrain: { enabled: false, minNewAnnotations: 0, numWorkers: o.numWorkers, numEpochs: 1 },
      ignoreUnlabeled: false, minAnnotationsPerImage: 1, maxTrainingImages: 0,
    },
  });
  const classes = new Map<string, string>();
  for (const cls of TILE_CLASSES) {
    const { labelClass } = await c.addLabelClass({ project: o.project, name: cls.name, color: cls.color });
    classes.set(cls.name, labelClass!.id);
  }
  const registered = await c.registerImages({ project: o.project, prefix: 'tiles' });
  say(`▶ project "${o.project}": ${registered.added} images registered, ${classes.size} label classes`);

  const images: Image[] = [];
  for (let token = ''; ;) {
    const page = await c.listImages({ project: o.project, annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: 500, pageToken: token });
    images.push(...page.images);
    token = page.nextPageToken;
    if (!token) break;
  }
  images.sort((a, b) => a.filePath.localeCompare(b.filePath));
  const labelled = images.filter((_, i) => i % 2 === 0);
  await c.upsertAnnotations({
    project: o.project,
    annotations: labelled.map((img) => ({
      id: '', imageId: img.id, labelClassId: classes.get(truth[images.indexOf(img)]!)!, unsure: false, author: 'demo', createdAt: undefined, geometry: undefined,
    })),
  });
  say(`▶ ${labelled.length} images labelled by "an annotator"; training the built-in CNN, then inference → rank, on ${o.numWorkers} workers`);

  const { job } = await c.startWorkflow({ project: o.project, steps: [], fromScratch: false });
  const bar = new cliProgress.SingleBar({ format: '  {bar} {percentage}% | {message}', hideCursor: true, stream: out as NodeJS.WriteStream, noTTYOutput: true, notTTYSchedule: 500 }, cliProgress.Presets.shades_classic);
  bar.start(1, 0, { message: 'queued' });
  let last = JobState.JOB_STATE_QUEUED;
  for await (const { event } of c.watchJob({ project: o.project, id: job!.id })) {
    if (!event) continue;
    last = event.state;
    bar.setTotal(Math.max(1, event.total));
    bar.update(Math.min(event.done, Math.max(1, event.total)), { message: event.message.slice(0, 70) });
  }
  bar.stop();
  const finished = await c.getJob({ project: o.project, id: job!.id });
  say(`▶ workflow ${JobState[last]}: ${finished.job?.message || finished.job?.error}`);
  const learned = await whatItLearned(c, o.project);
  if (learned) say(learned);

  const batch = await c.nextBatch({ project: o.project, limit: 5, pathPrefix: '', excludePrefixes: [], pageToken: '' });
  const top = batch.images.map((img, i) => ({ file: img.filePath, priority: batch.priorities[i] ?? 0, id: img.id }));
  say('▶ annotate these next (most useful first, by breaking ties; links valid for 10 minutes):');
  for (const t of top) {
    const { url } = await c.getImageUrl({ project: o.project, imageId: t.id, ttlSeconds: 600 });
    say(`    ${t.priority.toFixed(3)}  ${t.file}   http://${o.fileServerHttp}${url}`);
  }
  return { jobId: job!.id, state: last, top };
}
