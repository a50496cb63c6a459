/**
 * Plugin data as JSON files (the local test tool's input and output):
 * segmentation maps and embeddings are typed arrays in memory and plain
 * number arrays in JSON.
 */
import type { RankData } from './data.js';

/** JSON.stringify replacer writing typed arrays as plain arrays. */
export const typedArraysAsLists = (_key: string, value: unknown): unknown =>
  ArrayBuffer.isView(value) && !(value instanceof DataView) ? Array.from(value as Float32Array) : value;

const MAPS = { labelMap: Uint8Array, confidenceMap: Float32Array, logitsMap: Float32Array } as const;

/** Parsed rank data (or inference output) with segmentation maps and embeddings turned back into typed arrays. */
export function rankDataFromJson(value: unknown): RankData {
  const data = value as Record<string, { predictions: Record<string, unknown>[]; embedding?: unknown }>;
  for (const image of Object.values(data)) {
    if (Array.isArray(image.embedding)) image.embedding = Float32Array.from(image.embedding as number[]);
    for (const prediction of image.predictions) {
      for (const [key, Type] of Object.entries(MAPS)) {
        if (Array.isArray(prediction[key])) prediction[key] = Type.from(prediction[key] as number[]);
      }
    }
  }
  return data as unknown as RankData;
}
