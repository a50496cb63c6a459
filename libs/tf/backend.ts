/**
 * The TensorFlow.js backend, chosen once per process: the native GPU build if
 * installed and a GPU is usable, else the native CPU build, else WebAssembly,
 * else plain JS. The native builds are optional dependencies (their install
 * downloads libtensorflow, which fails where only the npm registry is
 * reachable), so they are imported by name at run time. On WebAssembly the
 * training kernels it lacks (or runs slowly) are registered too.
 */
import * as tf from '@tensorflow/tfjs';
import { withoutAddedProcessHandlers } from './process-handlers.js';
import { registerWasmTrainingKernels } from './wasm-kernels/register.js';

// tfjs's CPU backend prints "install our node backend" on its first tensor in Node. The choice is made here
// (native builds first, each one passed over is reported in `skipped`), so the banner only misleads; tfjs
// silences its console notices only in production mode, which gates nothing else.
tf.enableProdMode();

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKENDS: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export interface SelectedBackend {
  name: BackendName;
  gpu: boolean;
  /** Why earlier choices were passed over. */
  skipped: string[];
}

/** Imports a package that may not be installed, without the type checker needing it. */
const optionalImport = (specifier: string): Promise<unknown> => import(specifier);

async function tryBackend(name: BackendName): Promise<boolean> {
  switch (name) {
    case 'tensorflow-gpu':
      await optionalImport('@tensorflow/tfjs-node-gpu');
      return tf.setBackend('tensorflow');
    case 'tensorflow':
      await optionalImport('@tensorflow/tfjs-node');
      return tf.setBackend('tensorflow');
    case 'wasm': {
      const ready = await withoutAddedProcessHandlers(async () => {
        await import('@tensorflow/tfjs-backend-wasm');
        return (await tf.setBackend('wasm')) && (await tf.ready(), true);
      });
      if (!ready) return false;
      registerWasmTrainingKernels();
      return true;
    }
    case 'cpu':
      return tf.setBackend('cpu');
  }
}

let selected: Promise<SelectedBackend> | undefined;

/** 'auto' walks the fallback chain; a forced name must work or start-up fails clearly. */
export function selectBackend(choice: 'auto' | BackendName = 'auto'): Promise<SelectedBackend> {
  selected ??= (async () => {
    const order = choice === 'auto' ? BACKENDS : [choice];
    const skipped: string[] = [];
    for (const name of order) {
      try {
        if (await tryBackend(name)) {
          await tf.ready();
          return { name, gpu: name === 'tensorflow-gpu', skipped };
        }
        skipped.push(`${name}: not available`);
      } catch (err) {
        skipped.push(`${name}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    throw new Error(`no usable tfjs backend (${skipped.join('; ')})`);
  })();
  return selected;
}
