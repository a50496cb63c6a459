/**
 * The model state: feature settings and one centroid (mean histogram) per
 * label class with the number of images behind it, serialized as JSON bytes.
 */
import type { HistogramSettings } from './settings.js';

export interface Centroid {
  mean: number[];
  count: number;
}

export interface HistogramState {
  version: 1;
  bins: number;
  imageSize: number;
  /** Label-class id → centroid. */
  centroids: Record<string, Centroid>;
}

export const emptyState = ({ bins, imageSize }: HistogramSettings): HistogramState => ({ version: 1, bins, imageSize, centroids: {} });

export const encodeState = (state: HistogramState): Uint8Array => new TextEncoder().encode(JSON.stringify(state));

export function decodeState(bytes: Uint8Array): HistogramState {
  let state: HistogramState;
  try {
    state = JSON.parse(new TextDecoder().decode(bytes)) as HistogramState;
  } catch {
    throw new Error('not a colour-histogram model state: not JSON');
  }
  if (typeof state !== 'object' || state === null || state.version !== 1 || typeof state.centroids !== 'object') throw new Error('not a colour-histogram model state');
  return state;
}
