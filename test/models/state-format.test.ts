/** The built-in models' state layout: round trip, and refusals with clear reasons. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LabelsClassifier } from '../../models/builtin/classifier/model.js';
import { classifierSpecs } from '../../models/builtin/classifier/network.js';
import { BoundingBoxDetector } from '../../models/builtin/detector/model.js';
import { initialParameters } from '../../models/builtin/network.js';
import { decodeState, encodeState, expectModel, FORMAT_VERSION, optionsHash, readStateHeader, type ModelState } from '../../models/builtin/state-format.js';

const state: ModelState = {
  header: { model: 'builtin.test', arch: { width: 4, depth: 2 }, labelClasses: ['a', 'b'], optionsHash: 'abc', stats: { images: 3 } },
  tensors: [
    { name: 'w', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 1e-30, -0, 7]) },
    { name: 'b', shape: [3], data: Float32Array.from([0.25, 0.5, 0.75]) },
  ],
};

describe('model state format', () => {
  it('round-trips header and weights exactly, little-endian after a JSON header', () => {
    const bytes = encodeState(state);
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), 'AIDEMDL\0');
    const view = new DataView(bytes.buffer);
    assert.equal(view.getUint32(8, true), FORMAT_VERSION);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + view.getUint32(12, true))));
    assert.deepEqual(header.tensors.map((t: { offset: number }) => t.offset), [0, 24]);
    const back = decodeState(bytes);
    assert.deepEqual(back.header, state.header);
    assert.deepEqual(back.tensors, state.tensors);
  });

  it('refuses other bytes, newer versions and truncation', () => {
    const bytes = encodeState(state);
    assert.throws(() => decodeState(new TextEncoder().encode('{"version":1}')), /wrong magic bytes/);
    const newer = bytes.slice();
    new DataView(newer.buffer).setUint32(8, FORMAT_VERSION + 1, true);
    assert.throws(() => decodeState(newer), /format version 2 is newer/);
    assert.throws(() => decodeState(bytes.subarray(0, bytes.length - 4)), /tensor b runs past the end/);
  });

  it('names what differs when a state is of another model or architecture', () => {
    assert.doesNotThrow(() => expectModel(state.header, 'builtin.test', { width: 4 }));
    assert.throws(() => expectModel(state.header, 'builtin.other'), /from 'builtin\.test', not 'builtin\.other'/);
    assert.throws(() => expectModel(state.header, 'builtin.test', { width: 8, depth: 2 }), /another architecture: width 4 ≠ 8/);
  });

  it('reads and checks the header from the first bytes alone, against the whole size', () => {
    const bytes = encodeState(state);
    const headerEnd = 16 + new DataView(bytes.buffer).getUint32(12, true);
    assert.equal(readStateHeader(bytes.subarray(0, headerEnd), bytes.length).model, 'builtin.test');
    assert.equal(readStateHeader(bytes, bytes.length).labelClasses.length, 2);
    assert.throws(() => readStateHeader(bytes, bytes.length + 4), /describes \d+ bytes, the state has/);
    assert.throws(() => readStateHeader(bytes.subarray(0, headerEnd - 1), bytes.length), /longer than the \d+ bytes that can be checked/);
    assert.throws(() => readStateHeader(bytes.subarray(0, 20), 20), /header runs past the end/);
  });

  it("a built-in model's verifyState takes its own states and names why it refuses others", () => {
    const arch = { inputSize: 32, width: 4, depth: 2, classes: 2 };
    const labels = encodeState({
      header: { model: 'builtin.labels', arch, labelClasses: ['a', 'b'], optionsHash: 'x' },
      tensors: initialParameters(classifierSpecs(arch), 0),
    });
    assert.doesNotThrow(() => LabelsClassifier.verifyState(labels.subarray(0, 4096), labels.length));
    assert.throws(() => BoundingBoxDetector.verifyState(labels, labels.length), /from 'builtin\.labels', not 'builtin\.boundingBoxes'/);
    const fewerClasses = encodeState({
      header: { model: 'builtin.labels', arch, labelClasses: ['a'], optionsHash: 'x' },
      tensors: initialParameters(classifierSpecs(arch), 0),
    });
    assert.throws(() => LabelsClassifier.verifyState(fewerClasses, fewerClasses.length), /1 label classes for 2 outputs/);
    const otherTensors = encodeState({ header: { model: 'builtin.labels', arch, labelClasses: ['a', 'b'], optionsHash: 'x' }, tensors: state.tensors });
    assert.throws(() => LabelsClassifier.verifyState(otherTensors, otherTensors.length), /tensors do not match its architecture/);
    assert.throws(() => LabelsClassifier.verifyState(new Uint8Array(96 * 1024).fill(7), 96 * 1024), /wrong magic bytes/);
  });

  it('hashes options independently of key order', () => {
    assert.equal(optionsHash({ a: 1, b: { c: 2, d: 3 } }), optionsHash({ b: { d: 3, c: 2 }, a: 1 }));
    assert.notEqual(optionsHash({ a: 1 }), optionsHash({ a: 2 }));
  });
});
