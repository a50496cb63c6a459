/**
 * The detector's options: common fields with defaults for 64-pixel scenes
 * on 2 CPU cores (stride 8: one output cell per 8×8 pixels), and the
 * inference group with the NMS overlap.
 */
import { heatmapOptions, type HeatmapSettings } from '../heatmap/settings.js';

export interface DetectorSettings extends HeatmapSettings {
  nmsIoU: number;
}

export const DETECTOR_OPTIONS = heatmapOptions<DetectorSettings>(
  { inputSize: 64, width: 16, depth: 3, maxDepth: 5, epochs: 30, batchSize: 8, learningRate: 0.003, scoreThreshold: 0.1 },
  [{ group: 'inference', key: 'nmsIoU', name: 'Non-maximum suppression overlap (IoU)', description: 'A box overlapping a stronger one by more is dropped.', type: 'float', min: 0.05, max: 1, value: 0.5 }],
  (values) => ({ nmsIoU: values.nmsIoU as number }),
);
