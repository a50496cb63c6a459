/**
 * The committed SIMD module (libs/tf/simd/*.wasm, loaded at run time) is
 * exactly what its AssemblyScript source compiles to (`npm run build:simd`),
 * and it imports its memory (the tfjs backend's) without writing to it on
 * instantiation: a data segment would overwrite that heap.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const dir = new URL('../../libs/tf/simd/', import.meta.url);
const path = (name: string) => fileURLToPath(new URL(name, dir));

describe('SIMD module build', () => {
  // The asc command `npm run build:simd` runs, in a plain node: under this file's TypeScript loader, compiling
  // binaryen's 12 MB module alone took 20 s and 24 CPU-s (3 s and 5 CPU-s without it).
  it('is up to date with its source', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'aide-simd-')), 'kernels.wasm');
    const asc = fileURLToPath(new URL('../../node_modules/assemblyscript/bin/asc.js', import.meta.url));
    await promisify(execFile)(process.execPath, [asc, path('index.ts'), '--config', path('asconfig.json'), '--target', 'release', '--outFile', out]);
    const committed = await readFile(path('kernels.wasm'));
    assert.ok((await readFile(out)).equals(committed), 'libs/tf/simd/kernels.wasm is stale: run npm run build:simd');
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
