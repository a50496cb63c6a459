/**
 * Batches of stored images (size×size×3 bytes) as the float input replicas
 * take, and for training their targets, written by the model's TargetEncoder
 * under the same augmentation draw as each image.
 */
import { augmentInto, changesNothing, drawTransform, IDENTITY, type Augmentations, type Transform } from './augment.js';
import type { Batch } from './replica-protocol.js';

/** A training image and its target in the model's own terms (a class index, boxes, …). */
export interface Example<T> {
  image: Uint8Array;
  target: T;
}

/** Turns a model's targets into the dense floats its network's loss takes (Network.targetShape). */
export interface TargetEncoder<T> {
  /** Floats per image: the product of Network.targetShape. */
  readonly length: number;
  /** Writes `target`, as seen after transform `t` of its image, into `out` at `offset` (`length` values, pre-zeroed). */
  write(target: T, t: Transform, out: Float32Array, offset: number): void;
}

export interface TrainingBatch {
  batch: Batch;
  /** count × encoder.length floats, row-major. */
  targets: Float32Array;
}

/** Each byte's float, v / 255 as a float32: a table lookup is the same value as the division, a few times faster. */
const UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/** `pixels` bytes of `image` as floats in 0–1, into `out` from `offset`. */
function toUnit(image: Uint8Array, pixels: number, out: Float32Array, offset: number): void {
  for (let k = 0; k < pixels; k++) out[offset + k] = UNIT[image[k]!]!;
}

/** Images as they are (inference). */
export function makeBatch(images: readonly Uint8Array[], size: number): Batch {
  const pixels = size * size * 3;
  const out = new Float32Array(images.length * pixels);
  images.forEach((image, i) => toUnit(image, pixels, out, i * pixels));
  return { images: out, count: images.length, size };
}

/** Augmented images with their targets, one draw per example. */
export function makeTrainingBatch<T>(
  examples: readonly Example<T>[],
  size: number,
  aug: Augmentations,
  encoder: TargetEncoder<T>,
  random: () => number,
): TrainingBatch {
  const pixels = size * size * 3;
  const images = new Float32Array(examples.length * pixels);
  const targets = new Float32Array(examples.length * encoder.length);
  const identity = changesNothing(aug);
  examples.forEach(({ image, target }, i) => {
    const t = identity ? IDENTITY : drawTransform(aug, random);
    if (t === IDENTITY) toUnit(image, pixels, images, i * pixels);
    else augmentInto(image, size, t, images, i * pixels);
    encoder.write(target, t, targets, i * encoder.length);
  });
  return { batch: { images, count: examples.length, size }, targets };
}
