/**
 * The committed SIMD module (libs/tf/simd/*.wasm, loaded at run time) is
 * exactly what its AssemblyScript source compiles to (`npm run build:simd`),
 * and it imports its memory (the tfjs backend's) without writing to it on
 * instantiation: a data segment would overwrite that heap.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const dir = new URL('../../libs/tf/simd/', import.meta.url);
const path = (name: string) => fileURLToPath(new URL(name, dir));

describe('SIMD module build', () => {
  it('is up to date with its source', async () => {
    let built: Uint8Array | undefined;
    const { error, stderr } = await asc.main(
      [path('index.ts'), '--config', path('asconfig.json'), '--target', 'release'],
      { writeFile: (name: string, contents: Uint8Array | string) => { if (name.endsWith('.wasm')) built = contents as Uint8Array; } },
    );
    assert.equal(error, null, stderr.toString());
    const committed = await readFile(path('kernels.wasm'));
    assert.ok(built, 'asc wrote no .wasm');
    assert.ok(Buffer.from(built).equals(committed), 'libs/tf/simd/kernels.wasm is stale: run npm run build:simd');
  });

  it('imports its memory and writes nothing to it when instantiated', async () => {
    const module = new WebAssembly.Module(await readFile(path('kernels.wasm')));
    assert.deepEqual(WebAssembly.Module.imports(module), [{ module: 'env', name: 'memory', kind: 'memory' }]);
    const memory = new WebAssembly.Memory({ initial: 1 });
    new Uint8Array(memory.buffer).fill(0xab);
    new WebAssembly.Instance(module, { env: { memory } });
    assert.ok(new Uint8Array(memory.buffer).every((b) => b === 0xab), 'a data segment was written into the imported memory');
  });
});
