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
 * Values of tensors a tidy scope returned, which are then disposed. Reading
 * them out inside the scope would hand it typed arrays to return, and tidy
 * walks whatever it returns element by element looking for tensors: ~40 ms
 * for a batch of segmentation outputs.
 */
function read(tensors: tf.Tensor[]): Float32Array[] {
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
  const [lossSum, ...values] = read([value, ...grads]);
  return { kind: 'gradients', id: 0, grads: values, lossSum: lossSum![0]! };
}

function predict(network: Network, params: Float32Array[], batch: Batch): Float32Array {
  return read([tf.tidy(() => network.predict(paramTensors(network, params), imageTensor(batch)))])[0]!;
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
        send({ kind: 'predict', id: req.id, outputs: predict(network, req.params, req.batch) });
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
