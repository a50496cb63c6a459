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

function gradients(network: Network, params: Float32Array[], batch: Batch, labels: Int32Array): ReplicaReply & { kind: 'gradients' } {
  return tf.tidy(() => {
    const x = imageTensor(batch);
    const classes = network.specs[network.specs.length - 1]!.shape[0]!;
    const targets = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
    const loss = (...p: tf.Tensor[]) =>
      tf.losses.softmaxCrossEntropy(targets, network.logits(p, x), undefined, undefined, tf.Reduction.SUM) as tf.Scalar;
    const { value, grads } = tf.valueAndGrads(loss)(paramTensors(network, params));
    return { kind: 'gradients', id: 0, grads: grads.map((g) => g.dataSync() as Float32Array), lossSum: value.dataSync()[0]! };
  });
}

function predict(network: Network, params: Float32Array[], batch: Batch): Float32Array {
  return tf.tidy(() => tf.softmax(network.logits(paramTensors(network, params), imageTensor(batch))).dataSync() as Float32Array);
}

async function main(): Promise<void> {
  const { name } = await selectBackend(init.backend);
  const { createNetwork } = (await import(init.networkModule)) as NetworkModule;
  const network = createNetwork(init.arch);
  port.on('message', (req: ReplicaRequest) => {
    try {
      if (req.kind === 'gradients') {
        send({ ...gradients(network, req.params, req.batch, req.labels), id: req.id });
      } else if (req.kind === 'predict') {
        send({ kind: 'predict', id: req.id, probs: predict(network, req.params, req.batch) });
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
