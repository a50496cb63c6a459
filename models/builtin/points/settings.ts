/**
 * The point model's options: common fields with defaults for 64-pixel
 * scenes on 2 CPU cores (stride 4, for position accuracy), and the inference
 * group with the minimum distance between points.
 */
import { heatmapOptions, type HeatmapSettings } from '../heatmap/settings.js';

export interface PointsSettings extends HeatmapSettings {
  /** In pixels of the network input. */
  minDistance: number;
}

export const POINTS_OPTIONS = heatmapOptions<PointsSettings>(
  { inputSize: 64, width: 16, depth: 2, maxDepth: 5, epochs: 30, batchSize: 8, learningRate: 0.003, scoreThreshold: 0.3 },
  [{ group: 'inference', key: 'minDistance', name: 'Minimum distance between points (input pixels)', description: 'Of two closer points the weaker is dropped.', type: 'float', min: 0, max: 512, value: 4 }],
  (values) => ({ minDistance: values.minDistance as number }),
);
