/**
 * Fashion-MNIST as the Debian package `dataset-fashion-mnist` installs it
 * (IDX files, gzipped), and the benchmark's seeded pool / test split.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import seedrandom from 'seedrandom';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const CLASSES = ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;
export const SIDE = 28;

/** Grey images (SIDE×SIDE bytes each, row-major) and their class indices. */
export interface GreySet {
  images: Uint8Array[];
  labels: number[];
}

function readIdx(path: string, magic: number): { dims: number[]; data: Uint8Array } {
  const buf = gunzipSync(readFileSync(path));
  if (buf.readUInt32BE(0) !== magic) throw new Error(`${path}: not an IDX file of magic ${magic}`);
  const rank = magic & 0xff;
  const dims = Array.from({ length: rank }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + 4 + 4 * rank, dims.reduce((a, b) => a * b, 1)) };
}

/** One split of the dataset: 'train' (60,000) or 't10k' (10,000). */
export function readSplit(split: 'train' | 't10k', dir = FASHION_MNIST_DIR): GreySet {
  const images = readIdx(join(dir, `${split}-images-idx3-ubyte.gz`), 0x803);
  const labels = readIdx(join(dir, `${split}-labels-idx1-ubyte.gz`), 0x801);
  const pixels = SIDE * SIDE;
  return {
    images: Array.from({ length: images.dims[0]! }, (_, i) => images.data.subarray(i * pixels, (i + 1) * pixels)),
    labels: Array.from(labels.data),
  };
}

/** `count` distinct indices of 0…n−1, in a seeded random order (partial Fisher–Yates). */
export function sampleIndices(n: number, count: number, random: () => number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (n - i));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order.slice(0, count);
}

/** The protocol's data for one seed: a pool from the training split and a test set from t10k. */
export function protocolData(seed: number, poolSize: number, testSize: number): { pool: GreySet; test: GreySet } {
  const random = seedrandom(`fashion-mnist:${seed}`);
  const pick = (set: GreySet, count: number): GreySet => {
    const idx = sampleIndices(set.images.length, count, random);
    return { images: idx.map((i) => set.images[i]!), labels: idx.map((i) => set.labels[i]!) };
  };
  return { pool: pick(readSplit('train'), poolSize), test: pick(readSplit('t10k'), testSize) };
}

/** A grey image as the RGB bytes the built-in models take. */
export function greyToRgb(grey: Uint8Array): Uint8Array {
  const out = new Uint8Array(grey.length * 3);
  for (let i = 0; i < grey.length; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = grey[i]!;
  return out;
}
