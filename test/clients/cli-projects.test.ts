import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aide, aideInProcessOn, aideOn, ok } from './aide-cli.js';
import { startTestMesh } from './mesh.js';

test('aide projects, classes and models against an in-process mesh', async (t) => {
  const mesh = await startTestMesh(t);
  // Most commands run in this process; a success (here) and a refusal (the wrong token) run as real processes.
  const run = aideInProcessOn(mesh);
  const spawned = aideOn(mesh);

  await t.test('projects create / get / list / settings', async () => {
    const created = await ok(spawned(['projects', 'create', 'birds', '--display-name', 'Bird survey',
      '--model', 'examples.colour_histogram', '--ranker', 'builtin.breaking_ties']));
    assert.match(created, /^project\s+birds \(Bird survey\)$/m);
    assert.match(created, /^model\s+examples\.colour_histogram/m);

    const [again, badName, got, list, settings] = await Promise.all([
      run(['projects', 'create', 'birds']),
      run(['projects', 'create', 'Not A Name']),
      ok(run(['--json', 'projects', 'get', 'birds'])),
      ok(run(['projects', 'list'])),
      ok(run(['projects', 'settings', 'birds', '--auto-train', '--min-new-annotations', '5', '--train-workers', '2'])),
    ]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^error: ALREADY_EXISTS: /);
    assert.equal(badName.code, 1);
    assert.match(badName.stderr, /^error: INVALID_ARGUMENT: /);
    assert.match(badName.stderr, /^ {2}name: /m, 'field violations are printed per field');
    const project = (JSON.parse(got) as { project: { name: string; settings: { rankerLibrary: string } } }).project;
    assert.equal(project.name, 'birds');
    assert.equal(project.settings.rankerLibrary, 'builtin.breaking_ties');
    assert.match(list, /^birds\s+labels\s+examples\.colour_histogram$/m);
    assert.match(settings, /^auto-train\s+on, after 5 new annotations, 2 workers/m);
    assert.match(await ok(run(['projects', 'settings', 'birds'])), /^ranker\s+builtin\.breaking_ties/m, 'no options: shows the settings');
  });

  await t.test('classes add / list / update / remove, by id or name', async () => {
    await ok(run(['classes', 'add', 'birds', 'heron', '--color', '#aabbcc']));
    assert.match(await ok(run(['classes', 'add', 'birds', 'egret', 'ibis'])), /\s2\s+egret\s*\n\S+\s+3\s+ibis/, 'several at once, in order');
    assert.match(await ok(run(['classes', 'update', 'birds', 'egret', '--name', 'stork'])), /\s2\s+stork/);
    await ok(run(['classes', 'remove', 'birds', 'ibis']));
    await ok(run(['classes', 'remove', 'birds', 'heron']));
    const [list, missing] = await Promise.all([run(['classes', 'list', 'birds']), run(['classes', 'remove', 'birds', 'heron'])]);
    assert.match(await ok(Promise.resolve(list)), /^\S+\s+2\s+stork\s*$/m);
    assert.doesNotMatch(list.stdout, /heron/);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /NOT_FOUND: label class "heron"/);
  });

  await t.test('models list / defaults / verify', async () => {
    const [list, defaults, valid, invalid] = await Promise.all([
      ok(run(['models', 'list'])),
      ok(run(['--json', 'models', 'defaults', 'examples.colour_histogram'])),
      ok(run(['models', 'verify', 'examples.colour_histogram', '{"options":{"general":{"bins":{"value":8}}}}'])),
      run(['models', 'verify', 'examples.colour_histogram', '{"options":{"general":{"bins":99}}}']),
    ]);
    assert.match(list, /^models:\n(.*\n)*\s+examples\.colour_histogram/m);
    assert.match(list, /^rankers:\n(.*\n)*\s+builtin\.breaking_ties\s.*\[ranks labels\b/m);
    assert.match(list, /^\s+examples\.colour_histogram\s.*\[labels → labels\]$/m);
    assert.doesNotMatch(list, /\[ →/, 'a ranker has no "from" annotation types to show');
    assert.ok(JSON.parse((JSON.parse(defaults) as { optionsJson: string }).optionsJson).options.general.bins);
    assert.match(valid, /^valid$/m);
    assert.equal(invalid.code, 1, 'invalid options exit 1');
    assert.match(invalid.stdout, /^invalid\nerror: bins must be/m);
  });

  await t.test('projects delete; a wrong token is refused', async () => {
    await ok(run(['projects', 'delete', 'birds']));
    const [gone, stranger] = await Promise.all([
      run(['projects', 'get', 'birds']),
      aide(['--plaintext', '--address', mesh.controller, '--token', 'aide_wrong', 'projects', 'list']),
    ]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^error: NOT_FOUND: /);
    assert.equal(stranger.code, 1);
    assert.match(stranger.stderr, /^error: UNAUTHENTICATED: /);
  });
});
