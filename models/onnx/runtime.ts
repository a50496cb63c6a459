/**
 * ONNX Runtime (onnxruntime-node, an optional dependency) for the ONNX
 * plugins: sessions on the CUDA execution provider where its binaries are
 * installed (GPU images, deploy/) and the CPU one elsewhere, kept warm for
 * the next job on the same graph, and batches of images run through them.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { failedPrecondition } from '../../libs/errors.js';
import type { GraphSignature, ValueSignature } from './onnx-graph.js';

type Ort = typeof import('onnxruntime-node');
type Session = import('onnxruntime-node').InferenceSession;

export type ProviderChoice = 'auto' | 'cuda' | 'cpu';
export type Provider = 'cuda' | 'cpu';

let ort: Promise<Ort> | undefined;

/** onnxruntime-node, or FAILED_PRECONDITION saying how to install it. */
export function loadOrt(): Promise<Ort> {
  ort ??= import('onnxruntime-node').catch((err: Error) => {
    ort = undefined;
    throw failedPrecondition(`ONNX models need onnxruntime-node, which is not installed here (${err.message}): npm install onnxruntime-node`);
  });
  return ort;
}

/** Whether onnxruntime-node has its CUDA provider library (fetched for GPU images; npm ci skips it). */
function cudaInstalled(): boolean {
  try {
    const main = createRequire(import.meta.url).resolve('onnxruntime-node');
    const bin = path.join(path.dirname(main), '..', '..', 'bin', 'napi-v6', process.platform, process.arch);
    return existsSync(path.join(bin, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

export interface LoadedGraph {
  session: Session;
  provider: Provider;
  /** Why a CUDA session could not be used where 'auto' tried one. */
  fallback?: string;
  signature: GraphSignature;
}

const signatureOf = (values: readonly import('onnxruntime-node').InferenceSession.ValueMetadata[]): ValueSignature[] =>
  values.map((v) => (v.isTensor ? { name: v.name, type: v.type, shape: [...v.shape] } : { name: v.name, type: 'non-tensor', shape: [] }));

/** A session on the chosen provider: 'auto' takes CUDA where installed, falling back to the CPU if it will not start. */
export async function createSession(onnx: Uint8Array, choice: ProviderChoice, threads: number): Promise<LoadedGraph> {
  const { InferenceSession } = await loadOrt();
  const create = (provider: Provider) => InferenceSession.create(onnx, {
    executionProviders: [provider],
    ...(threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
    graphOptimizationLevel: 'all',
  });
  let provider: Provider = choice === 'cuda' || (choice === 'auto' && cudaInstalled()) ? 'cuda' : 'cpu';
  let fallback: string | undefined;
  let session: Session;
  try {
    session = await create(provider);
  } catch (err) {
    if (provider === 'cuda' && choice === 'cuda') throw failedPrecondition(`runtime.provider is cuda, and ONNX Runtime's CUDA provider does not start here: ${(err as Error).message}`);
    if (provider === 'cpu') throw new Error(`ONNX Runtime cannot load the graph: ${(err as Error).message}`);
    fallback = (err as Error).message;
    provider = 'cpu';
    session = await create(provider).catch((e: Error) => { throw new Error(`ONNX Runtime cannot load the graph: ${e.message}`); });
  }
  return { session, provider, fallback, signature: { inputs: signatureOf(session.inputMetadata), outputs: signatureOf(session.outputMetadata) } };
}

/** A loaded graph, the jobs using it, most recently used last. */
interface WarmGraph {
  key: string;
  graph: Promise<LoadedGraph>;
  users: number;
}

/** Graphs kept loaded while no job uses them, for the next job on them (a round's shards, inference after training). */
const KEEP_IDLE = 2;
const warm: WarmGraph[] = [];

/** Idle graphs beyond the most recently used KEEP_IDLE released; a graph in use never is. */
function evictIdle(): void {
  let idle = warm.filter((w) => w.users === 0).length;
  for (let i = 0; i < warm.length && idle > KEEP_IDLE;) {
    if (warm[i]!.users > 0) {
      i++;
      continue;
    }
    const [gone] = warm.splice(i, 1);
    idle--;
    void gone!.graph.then((g) => g.session.release(), () => {});
  }
}

/**
 * A session on the graph (by SHA-256) for the provider choice and threads,
 * shared with other jobs on the same graph and kept warm after them; the
 * caller hands it back with `release` once done, and it is never released
 * while a job holds it.
 */
export async function acquireSession(onnx: Uint8Array, sha256: string, choice: ProviderChoice, threads: number): Promise<{ graph: LoadedGraph; release: () => void }> {
  const key = `${sha256}:${choice}:${threads}`;
  let entry = warm.find((w) => w.key === key);
  if (entry) warm.splice(warm.indexOf(entry), 1);
  else entry = { key, graph: createSession(onnx, choice, threads), users: 0 };
  warm.push(entry);
  entry.users++;
  const held = entry;
  let graph: LoadedGraph;
  try {
    graph = await held.graph;
  } catch (err) {
    held.users--;
    if (warm.includes(held)) warm.splice(warm.indexOf(held), 1);
    throw err;
  }
  evictIdle();
  let released = false;
  return {
    graph,
    release: () => {
      if (released) return;
      released = true;
      held.users--;
      evictIdle();
    },
  };
}

/** How the job's events name where it ran. */
export const providerLabel = ({ provider, fallback }: LoadedGraph): string =>
  `ONNX Runtime on ${provider === 'cuda' ? 'CUDA' : 'CPU'}${fallback ? ` (CUDA did not start: ${fallback.split('\n')[0]})` : ''}`;

/**
 * Runs `count` inputs (already laid out one after another in `input`, each of
 * `perInput` values with shape `inputShape`) and returns each input's output.
 * A graph with a fixed batch size gets exactly that many inputs a run.
 */
export async function runBatch(graph: LoadedGraph, names: { input: string; output: string }, input: Float32Array, inputShape: readonly number[], count: number): Promise<Float32Array[]> {
  const { Tensor } = await loadOrt();
  const feeds = { [names.input]: new Tensor('float32', input, [count, ...inputShape]) };
  const result = await graph.session.run(feeds, [names.output]);
  const data = result[names.output]!.data as Float32Array;
  const per = data.length / count;
  return Array.from({ length: count }, (_, k) => data.slice(k * per, (k + 1) * per));
}
