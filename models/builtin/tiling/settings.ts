/**
 * The "Large images (tiling)" option group of the heatmap and segmentation
 * models: whether images are cut into windows, the window side and the
 * overlap of neighbouring windows (source pixels), and the negatives —
 * windows at random places — taken per training image besides one around
 * each object (segmentation: each labelled area).
 */
import type { Resolved } from '../model-settings.js';
import type { Field, FieldValue } from '../option-fields.js';

export interface TilingSettings {
  enabled: boolean;
  /** Window side, source pixels. */
  size: number;
  /** Pixels neighbouring windows share: at least the largest object's side. */
  overlap: number;
  negatives: number;
}

export const TILING_GROUP = { tiling: 'Large images (tiling)' };

export const TILING_FIELDS: Field[] = [
  { group: 'tiling', key: 'enabled', name: 'Cut images into windows', description: 'For images far larger than the input: train on windows around objects or labelled areas, predict window by window over the whole image.', type: 'bool', value: false },
  { group: 'tiling', key: 'windowSize', name: 'Window size (pixels)', description: 'Side of a window in image pixels; each window is resized to the input size.', type: 'int', min: 16, max: 16384, value: 512 },
  { group: 'tiling', key: 'overlap', name: 'Window overlap (pixels)', description: 'Pixels neighbouring windows share; at least the largest object, so that each object is whole in one window. Less than the window size.', type: 'int', min: 0, max: 16383, value: 64 },
  { group: 'tiling', key: 'negatives', name: 'Negative windows per training image', description: 'Windows at random places besides one around each object or labelled area.', type: 'int', min: 0, max: 1000, value: 2 },
];

/** The settings from field values (each checked against its field already). */
export const tilingSettings = (values: Record<string, FieldValue>): TilingSettings =>
  ({ enabled: values.enabled as boolean, size: values.windowSize as number, overlap: values.overlap as number, negatives: values.negatives as number });

/** What is wrong between the fields, named group.key. */
const tilingErrors = ({ size, overlap }: TilingSettings): string[] =>
  overlap < size ? [] : [`tiling.overlap ${overlap} must be less than tiling.windowSize ${size}`];

/** Resolved settings with the tiling group's checks between fields added to the field-level ones. */
export const withTilingErrors = <S extends { tiling: TilingSettings }>(resolved: Resolved<S>): Resolved<S> =>
  ({ ...resolved, errors: [...resolved.errors, ...tilingErrors(resolved.settings.tiling)] });
