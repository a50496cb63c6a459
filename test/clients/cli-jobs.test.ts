import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ControllerServiceService } from '../../libs/gen/aide/v1/controller.js';
import { createClient } from '../../libs/grpc/index.js';
import type { EmbeddedMesh } from '../../services/embedded/mesh.js';
import { aideInProcessOn, aideOn, ok } from './aide-cli.js';
import { startTestMesh } from './mesh.js';
import { writeTiles } from './tiles.js';

/** What an annotator would do in the UI (the CLI administers, it does not annotate): label every other tile by its file name. */
async function annotate(mesh: EmbeddedMesh, project: string): Promise<void> {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${mesh.adminToken}`);
  const c = createClient(ControllerServiceService, mesh.controller, { metadata });
  try {
    const classes = new Map((await c.listLabelClasses({ project })).labelClasses.map((l) => [l.name, l.id]));
    const { images } = await c.listImages({ project, annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: 500, pageToken: '' });
    await c.upsertAnnotations({
      project,
      annotations: images.filter((_, i) => i % 2 === 0).map((img) => ({
        id: '', imageId: img.id, labelClassId: classes.get(img.filePath.split('/').pop()!.split('_')[0]!)!,
        unsure: false, author: 'test', createdAt: undefined, geometry: undefined,
      })),
    });
  } finally {
    c.close();
  }
}

const jobId = (started: string): string => /^started (\S+)/m.exec(started)![1]!;

test('aide images, train / infer / rank / workflow, jobs and states against an in-process mesh', async (t) => {
  const [mesh, tiles] = await Promise.all([startTestMesh(t), writeTiles(18)]);
  // Most commands run in this process; a --watch with its progress bar (exit 0) and a watch that exits 1 run as real processes.
  const run = aideInProcessOn(mesh);
  const spawned = aideOn(mesh);

  await ok(run(['projects', 'create', 'tiles', '--model', 'examples.colour_histogram', '--ranker', 'builtin.breaking_ties']));
  await Promise.all(['savanna', 'water', 'forest'].map((name) => ok(run(['classes', 'add', 'tiles', name]))));

  await t.test('images import uploads a folder through the FileServer and registers it', async () => {
    assert.match(await ok(run(['images', 'import', 'tiles', tiles])), /^uploaded 18 files to tiles\/tiles: 18 images registered, 0 already known$/m);
    const list = await ok(run(['images', 'list', 'tiles']));
    assert.equal(list.trim().split('\n').length, 18);
    assert.match(list, /tiles\/forest_002\.jpg\s+64×64/);
    await annotate(mesh, 'tiles');
  });

  await t.test('train, infer and rank with --watch: a progress bar, then the finished job', async () => {
    for (const command of ['train', 'infer', 'rank']) {
      const r = await (command === 'train' ? spawned : run)([command, 'tiles', '--watch']);
      assert.equal(r.code, 0, `aide ${command}: ${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /^started \S+\s+\w+\s+queued/m);
      assert.match(r.stdout, /^\S+\s+\w+\s+succeeded/m);
      assert.match(r.stderr, /100% \| \d+\/\d+/, `${command}: the progress bar reached its end`);
    }
    const next = await ok(run(['images', 'next', 'tiles', '--limit', '3']));
    const priorities = next.trim().split('\n').map((l) => Number(l.split(/\s+/)[0]));
    assert.equal(priorities.length, 3, next);
    assert.deepEqual([...priorities].sort((a, b) => b - a), priorities, 'most useful first');
  });

  await t.test('workflow, then jobs watch (JSON events) / get / list', async () => {
    const id = jobId(await ok(run(['workflow', 'tiles', '--steps', 'train,inference'])));
    const events = (await ok(run(['--json', 'jobs', 'watch', 'tiles', id]))).trim().split('\n').filter((l) => l.startsWith('{"'));
    assert.ok(events.length > 0 && events.every((e) => (JSON.parse(e) as { jobId: string }).jobId !== undefined));
    const [got, list] = await Promise.all([ok(run(['jobs', 'get', 'tiles', id])), ok(run(['jobs', 'list', 'tiles', '--kind', 'workflow']))]);
    assert.match(got, new RegExp(`^${id}\\s+workflow\\s+succeeded`, 'm'));
    assert.match(got, /^ {2}\S+\s+train\s+succeeded(.*\n)\s+\S+\s+inference\s+succeeded/m, 'the steps, in order');
    assert.match(list, new RegExp(`^${id}\\s+workflow`, 'm'));
    assert.doesNotMatch(list, /\strain\s/, '--kind filters');
  });

  await t.test('jobs cancel stops a running workflow; watching it then exits 1', async () => {
    const steps = Array.from({ length: 12 }, () => 'train,inference,rank').join(',');
    const id = jobId(await ok(run(['workflow', 'tiles', '--steps', steps])));
    assert.match(await ok(run(['jobs', 'cancel', 'tiles', id])), new RegExp(`^${id}\\s+workflow\\s+(cancelled|running)`, 'm'));
    const watched = await spawned(['jobs', 'watch', 'tiles', id]);
    assert.equal(watched.code, 1, watched.stdout);
    assert.match(watched.stdout, new RegExp(`^${id}\\s+workflow\\s+cancelled`, 'm'));
  });

  await t.test('states list / export to a file / import from it', async () => {
    const list = await ok(run(['states', 'list', 'tiles']));
    const current = /^(\S+)\s+v(\d+) \(current\)/m.exec(list);
    assert.ok(current, list);
    const file = join(mkdtempSync(join(tmpdir(), 'aide-state-')), 'state.bin');
    assert.match(await ok(run(['state', 'export', 'tiles', current[1]!, file])), /^exported /);
    const info = JSON.parse(readFileSync(`${file}.json`, 'utf8')) as { modelLibrary: string; sizeBytes: number };
    assert.equal(info.modelLibrary, 'examples.colour_histogram');
    assert.equal(statSync(file).size, Number(info.sizeBytes));
    assert.ok(!existsSync(`${file}.partial`));
    const imported = await ok(run(['states', 'import', 'tiles', file]));
    assert.match(imported, /^imported \S+\s+v(\d+)/m);
    assert.ok(Number(/v(\d+)/.exec(imported)![1]) > Number(current[2]), 'a new version');

    // The same through the state lane: the same bytes out, a new version in.
    const lane = `http://${mesh.stateLane!}`;
    const viaLane = join(mkdtempSync(join(tmpdir(), 'aide-state-')), 'state.bin');
    assert.match(await ok(run(['states', 'export', 'tiles', current[1]!, viaLane, '--lane', lane])), /^exported /);
    assert.deepEqual(readFileSync(viaLane), readFileSync(file));
    const laneImported = await ok(run(['states', 'import', 'tiles', viaLane, '--lane', lane]));
    assert.ok(Number(/v(\d+)/.exec(laneImported)![1]) > Number(/v(\d+)/.exec(imported)![1]), 'another new version');
  });

  await t.test('states stats / current / delete; images golden', async () => {
    const stats = await ok(run(['states', 'stats', 'tiles']));
    assert.match(stats, /^v1\s+\S+\s+\d+ images\s/m, stats);
    // The stored image count and the model's own `images` statistic agree, however many shards trained.
    for (const line of stats.trim().split('\n')) {
      const [, counted, statistic] = /^v\d+\s+\S+\s+(\d+) images\s.*\bimages=(\d+)/.exec(line) ?? [];
      assert.ok(counted !== undefined, line);
      assert.equal(statistic, counted, line);
    }
    // --plot: the statistics, then the curves (colour_histogram reports no loss or accuracy; the stopping signal
    // of the state predicted after another is drawn), or an SVG file.
    const plotted = await ok(run(['states', 'stats', 'tiles', '--plot']));
    assert.ok(plotted.startsWith(stats), 'the statistics come first');
    assert.match(plotted, /unannotated images changed since previous/);
    assert.doesNotMatch(plotted, /loss|accuracy/, 'no curve the model did not report');
    const svgFile = join(mkdtempSync(join(tmpdir(), 'aide-plot-')), 'curves.svg');
    assert.match(await ok(run(['states', 'stats', 'tiles', '--plot', svgFile])), new RegExp(`^wrote the training curves \\(unannotated images changed since previous\\) to ${svgFile}$`, 'm'));
    assert.match(readFileSync(svgFile, 'utf8'), /<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg".*tiles: training curves/s);
    const list = await ok(run(['states', 'list', 'tiles']));
    const [first, last] = [/^(\S+)\s+v1\s/m.exec(list)![1]!, list.trim().split('\n').at(-1)!.split(/\s+/)[0]!];
    assert.match(await ok(run(['states', 'current', 'tiles', first])), new RegExp(`^${first}\\s+v1 \\(current\\)`));
    assert.match(await ok(run(['states', 'delete', 'tiles', last])), new RegExp(`^deleted ${last}$`, 'm'));
    assert.doesNotMatch(await ok(run(['states', 'list', 'tiles'])), new RegExp(last));
    const image = (await ok(run(['images', 'list', 'tiles']))).split(/\s+/)[0]!;
    assert.match(await ok(run(['images', 'golden', 'tiles', image])), /^flagged 1 images$/m);
    assert.match(await ok(run(['images', 'list', 'tiles'])), new RegExp(`^${image}\\s.*golden$`, 'm'));
  });
});
