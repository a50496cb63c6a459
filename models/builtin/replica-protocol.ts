/** Messages between a ReplicaPool and its replica workers. */
import type { BackendName } from '../../libs/tf/backend.js';
import type { Arch } from './network.js';

export interface ReplicaInit {
  /** URL of a module exporting createNetwork (a NetworkModule). */
  networkModule: string;
  arch: Arch;
  backend: 'auto' | BackendName;
}

/** A batch: `count` images of size×size×3, values in [0, 1], row-major. */
export interface Batch {
  images: Float32Array;
  count: number;
  size: number;
}

export type ReplicaRequest =
  /** targets: count × (product of Network.targetShape) floats, row-major, image by image. */
  | { kind: 'gradients'; id: number; params: Float32Array[]; batch: Batch; targets: Float32Array }
  /**
   * Parameters travel once per replica and prediction run: with the run's
   * first shard (`params` set), after which the replica keeps them, ready for
   * inference, until weights of another id arrive.
   */
  | { kind: 'predict'; id: number; weights: { id: number; params?: Float32Array[] }; batch: Batch }
  | { kind: 'memory'; id: number };

export type ReplicaReply =
  | { kind: 'ready'; backend: BackendName }
  /** Gradients of the network's summed (not mean) loss, so shards add up exactly. */
  | { kind: 'gradients'; id: number; grads: Float32Array[]; lossSum: number }
  /** Network.predict's output, [count, ...outputShape], row-major. */
  | { kind: 'predict'; id: number; outputs: Float32Array }
  | { kind: 'memory'; id: number; numTensors: number }
  | { kind: 'error'; id?: number; message: string };
