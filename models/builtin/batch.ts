/** Batches of stored images (size×size×3 bytes) as the float input replicas take. */
import { augmentInto, NO_AUGMENTATION, type Augmentations } from './augment.js';
import type { Batch } from './replica-protocol.js';

export function makeBatch(images: readonly Uint8Array[], size: number, aug: Augmentations = NO_AUGMENTATION, random: () => number = Math.random): Batch {
  const pixels = size * size * 3;
  const out = new Float32Array(images.length * pixels);
  const plain = aug === NO_AUGMENTATION;
  images.forEach((image, i) => {
    if (plain) for (let k = 0; k < pixels; k++) out[i * pixels + k] = image[k]! / 255;
    else augmentInto(image, size, aug, random, out, i * pixels);
  });
  return { images: out, count: images.length, size };
}
