import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isAideError } from '../../libs/errors.js';
import { loadRegistry, type Registry } from '../../libs/plugin/registry.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const good = (name: string) => `./good-plugins.ts#${name}`;
const bad = (name: string) => `./bad-plugins.ts#${name}`;

async function load(extra: string[]): Promise<Registry> {
  return loadRegistry({ extra, baseDir: fixtures });
}

describe('registry', () => {
  it('loads the built-ins', async () => {
    const registry = await loadRegistry();
    assert.deepEqual(registry.errors, []);
    assert.deepEqual([...registry.rankers.keys()].sort(),
      ['builtin.badge', 'builtin.breaking_ties', 'builtin.coreset', 'builtin.entropy', 'builtin.least_confidence', 'builtin.max_confidence', 'builtin.random']);
    assert.ok(registry.models.has('examples.colour_histogram'));
    assert.deepEqual(registry.getRanker('builtin.entropy').meta.predictionTypes, ['labels', 'points', 'boundingBoxes', 'segmentationMasks']);
  });

  it('skips each bad entry with a clear error and still loads the others', async () => {
    const registry = await load([
      bad('BadMetadata'), bad('ThrowingConstructor'), bad('MissingMethod'), bad('NotAClass'),
      good('Nope'), './no-such-file.ts#X', good('XssRanker'), good('DictVerifyModel'), good('DictVerifyModel'),
    ]);
    const bySource = new Map(registry.errors.map((e) => [e.source, e.message]));
    assert.match(bySource.get(bad('BadMetadata'))!, /invalid metadata:.*name.*annotationType|invalid metadata:.*annotationType.*name/);
    assert.match(bySource.get(bad('ThrowingConstructor'))!, /fixture.throwing_constructor.*constructor failed.*needs a GPU/);
    assert.match(bySource.get(bad('MissingMethod'))!, /lacks method\(s\) averageModelStates/);
    assert.match(bySource.get(bad('NotAClass'))!, /export is a number, not a class/);
    assert.match(bySource.get(good('Nope'))!, /has no export 'Nope'/);
    assert.match(bySource.get('./no-such-file.ts#X')!, /cannot import '.\/no-such-file.ts'/);
    assert.equal(registry.errors.filter((e) => /duplicate key 'fixture.dict_verify'/.test(e.message)).length, 1);
    assert.equal(registry.errors.length, 7);
    assert.ok(registry.rankers.has('fixture.xss_ranker'));
    assert.ok(registry.models.has('fixture.dict_verify'));
    assert.ok(registry.rankers.has('builtin.entropy'), 'built-ins survive bad extras');
  });

  it('strips <script>, event handlers and javascript: URLs from descriptions, keeps basic HTML', async () => {
    const { description } = (await load([good('XssRanker')])).getRanker('fixture.xss_ranker').meta;
    assert.doesNotMatch(description, /script|alert|onclick|onerror|javascript:/i);
    assert.match(description, /<b>bold<\/b>/);
    assert.match(description, /<a href="https:\/\/example.org" target="_blank">link<\/a>/);
    assert.match(description, /<img src="https:\/\/example.org\/x.png" \/>/);
  });

  it('accepts the seed spelling canAddLabelclasses', async () => {
    const { meta } = (await load([good('BoolVerifyModel')])).getModel('fixture.bool_verify');
    assert.equal(meta.canAddLabelClasses, true);
    assert.equal(meta.canRemoveLabelClasses, false);
  });

  it('throws NOT_FOUND for unknown keys', async () => {
    const registry = await loadRegistry();
    assert.throws(() => registry.getModel('nope'), (e: unknown) => isAideError(e, 'NOT_FOUND'));
    assert.throws(() => registry.getRanker('examples.colour_histogram'), (e: unknown) => isAideError(e, 'NOT_FOUND'));
    assert.throws(() => registry.defaultOptions('nope'), (e: unknown) => isAideError(e, 'NOT_FOUND'));
  });
});
