import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadRegistry, type Registry } from '../../libs/plugin/registry.js';
import { CANNOT_VERIFY_WARNING } from '../../libs/plugin/verify-options.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const names = ['XssRanker', 'UndefinedVerifyModel', 'BoolVerifyModel', 'DictVerifyModel', 'ThrowingVerifyModel'];

describe('verifyOptions normalization', () => {
  let registry: Registry;
  before(async () => {
    registry = await loadRegistry({ extra: names.map((n) => `./good-plugins.ts#${n}`), baseDir: fixtures });
    assert.deepEqual(registry.errors, []);
  });

  it('none (no verifyOptions): valid with a warning once the constructor succeeds', async () => {
    assert.deepEqual(await registry.verifyOptions('fixture.xss_ranker', '{"a": 1}'),
      { valid: true, warnings: [CANNOT_VERIFY_WARNING], errors: [], options: { a: 1 } });
  });

  it('none: invalid with the message when the constructor throws', async () => {
    const result = await registry.verifyOptions('fixture.xss_ranker', '{"explode": true}');
    assert.equal(result.valid, false);
    assert.match(result.errors[0]!, /constructing with these options failed: boom on explode/);
  });

  it('none (verifyOptions returns undefined): same as absent', async () => {
    const result = await registry.verifyOptions('fixture.undefined_verify', '{}');
    assert.deepEqual(result, { valid: true, warnings: [CANNOT_VERIFY_WARNING], errors: [], options: {} });
  });

  it('boolean: true → valid, false → invalid with an error', async () => {
    assert.deepEqual(await registry.verifyOptions('fixture.bool_verify', '{"ok": true}'),
      { valid: true, warnings: [], errors: [], options: { ok: true } });
    const invalid = await registry.verifyOptions('fixture.bool_verify', '{"ok": false}');
    assert.equal(invalid.valid, false);
    assert.equal(invalid.errors.length, 1);
  });

  it('dict: warnings, errors and auto-completed options pass through', async () => {
    assert.deepEqual(await registry.verifyOptions('fixture.dict_verify', '{"lr": 0.5}'),
      { valid: true, warnings: ['epochs missing; using 3'], errors: [], options: { epochs: 3, lr: 0.5 } });
    const invalid = await registry.verifyOptions('fixture.dict_verify', '{"lr": -1, "epochs": 1}');
    assert.deepEqual(invalid, { valid: false, warnings: [], errors: ['lr must be a positive number'], options: { epochs: 1, lr: -1 } });
  });

  it('a throwing verifyOptions makes the options invalid with its message', async () => {
    const result = await registry.verifyOptions('fixture.throwing_verify', '{}');
    assert.equal(result.valid, false);
    assert.match(result.errors[0]!, /verifier crashed/);
  });

  it('bad JSON and non-objects are invalid; empty text means the defaults', async () => {
    assert.match((await registry.verifyOptions('fixture.dict_verify', '{lr:')).errors[0]!, /not valid JSON/);
    assert.match((await registry.verifyOptions('fixture.dict_verify', '[1]')).errors[0]!, /must be a JSON object/);
    assert.deepEqual((await registry.verifyOptions('fixture.dict_verify', '')).options, { lr: 0.1, epochs: 3 });
  });

  it('the defaults of every built-in verify as valid, without errors', async () => {
    const builtins = await loadRegistry();
    for (const key of [...builtins.models.keys(), ...builtins.rankers.keys()]) {
      const defaults = builtins.defaultOptions(key);
      assert.doesNotThrow(() => JSON.parse(defaults), key);
      const result = await builtins.verifyOptions(key, defaults);
      assert.equal(result.valid, true, `${key}: ${result.errors.join('; ')}`);
      assert.deepEqual(result.errors, [], key);
      assert.deepEqual(result.warnings, [], key);
    }
  });

  it('keys no option has are named in a warning, at any depth, and dropped from the options', async () => {
    const builtins = await loadRegistry();
    for (const key of ['builtin.labels', 'builtin.boundingBoxes', 'builtin.segmentationMasks', 'examples.colour_histogram']) {
      const misplaced = await builtins.verifyOptions(key, '{"training": {"epoch": 5}}');
      assert.equal(misplaced.valid, true, key);
      assert.ok(misplaced.warnings.includes('unknown option training ignored'), `${key}: ${misplaced.warnings.join('; ')}`);
      assert.equal('training' in misplaced.options, false, key);
    }
    const misspelt = await builtins.verifyOptions('builtin.labels', '{"options": {"training": {"epoch": 5, "epochs": 2}, "netwrok": {}}}');
    assert.deepEqual(misspelt.warnings.filter((w) => w.startsWith('unknown')), ['unknown option options.training.epoch ignored', 'unknown option options.netwrok ignored']);
    // A field given as a whole GUI node is no unknown key.
    const node = await builtins.verifyOptions('builtin.labels', '{"options": {"training": {"epochs": {"name": "Epochs", "type": "int", "value": 2}}}}');
    assert.deepEqual(node.warnings.filter((w) => w.startsWith('unknown')), []);
  });
});

