/**
 * A replica: one thread with its own TensorFlow.js backend that runs a
 * network's forward and backward passes for the ReplicaPool. Stateless
 * between requests (parameters come with each one), so replicas never drift.
 */
import * as tf from '@tensorflow/tfjs';
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend } from '../../libs/tf/backend.js';
import type { Network, NetworkModule } from './network.js';
import type { Batch, ReplicaInit, ReplicaReply, ReplicaRequest } from './replica-protocol.js';

const port = parentPort!;
const init = workerData as ReplicaInit;
const send = (reply: ReplicaReply) => port.postMessage(reply);

const paramTensors = (network: Network, params: Float32Array[]) => network.specs.map((s, i) => tf.tensor(params[i]!, s.shape));
const imageTensor = ({ images, count, size }: Batch) => tf.tensor4d(images, [count, size, size, 3]);

/**
 * The tensors' values, then the tensors freed. Read outside tf.tidy: tidy
 * walks what its function returns, typed arrays element by element.
 */
function valuesOf(tensors: tf.Tensor[]): Float32Array[] {
  try {
    return tensors.map((t) => t.dataSync() as Float32Array);
  } finally {
    tf.dispose(tensors);
  }
}

function gradients(network: Network, params: Float32Array[], batch: Batch, targets: Float32Array): ReplicaReply & { kind: 'gradients' } {
  const { value, grads } = tf.tidy(() => {
    const x = imageTensor(batch);
    const y = tf.tensor(targets, [batch.count, ...network.targetShape]);
    const loss = (...p: tf.Tensor[]) => network.loss(p, x, y);
    return tf.valueAndGrads(loss)(paramTensors(network, params));
  });
  const [lossSum, ...values] = valuesOf([value, ...grads]);
  return { kind: 'gradients', id: 0, grads: values, lossSum: lossSum![0]! };
}

/** The parameters of the current prediction run, as tensors. */
let loaded: { id: number; tensors: tf.Tensor[] } | undefined;

function weights(network: Network, { id, params }: { id: number; params?: Float32Array[] }): tf.Tensor[] {
  if (params) {
    if (loaded) tf.dispose(loaded.tensors);
    loaded = { id, tensors: paramTensors(network, params) };
  }
  if (loaded?.id !== id) throw new Error(`weights ${id} were not sent to this replica`);
  return loaded.tensors;
}

function predict(network: Network, params: tf.Tensor[], batch: Batch): Float32Array {
  return valuesOf([tf.tidy(() => network.predict(params, imageTensor(batch)))])[0]!;
}

async function main(): Promise<void> {
  const { name } = await selectBackend(init.backend);
  const { createNetwork } = (await import(init.networkModule)) as NetworkModule;
  const network = createNetwork(init.arch);
  port.on('message', (req: ReplicaRequest) => {
    try {
      if (req.kind === 'gradients') {
        send({ ...gradients(network, req.params, req.batch, req.targets), id: req.id });
      } else if (req.kind === 'predict') {
        send({ kind: 'predict', id: req.id, outputs: predict(network, weights(network, req.weights), req.batch) });
      } else {
        send({ kind: 'memory', id: req.id, numTensors: tf.memory().numTensors });
      }
    } catch (err) {
      send({ kind: 'error', id: req.id, message: (err as Error).message });
    }
  });
  send({ kind: 'ready', backend: name });
}

main().catch((err: Error) => send({ kind: 'error', message: err.message }));
