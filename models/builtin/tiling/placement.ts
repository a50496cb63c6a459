/**
 * Objects and predictions moving between a large image and its windows.
 * Training: an image's objects as seen in one window. Inference: a window's
 * predictions in whole-image relative coordinates, kept only by the window
 * whose core owns their centre (windows.ts), so an object seen by several
 * overlapping windows is predicted by one.
 *
 * Two windows place an object on a seam a little differently, so that
 * strictly both could drop it; cores are therefore widened by an eighth of
 * the overlap, and the caller suppresses the near-duplicates this lets
 * through. That stays safe for objects up to the overlap: a box cut by its
 * window's edge whose centre still falls in the widened core shows more than
 * 3/4 of its object along each axis cut (IoU > 9/16 with the whole box), so
 * suppression at the default IoU of 0.5 drops it.
 */
import type { ImageWindow } from '../../../libs/plugin/context.js';
import { ownsCentre, toImage, toWindow, type PlannedWindow } from './windows.js';

/** Something with a centre; boxes also have a size. */
export interface Placeable {
  x: number;
  y: number;
  width?: number;
  height?: number;
}

const extent = (p: Placeable) => ({ x: p.x, y: p.y, width: p.width ?? 0, height: p.height ?? 0 });

/** `p` with the centre (and a box's size) of `moved`; a point stays a point. */
function moved<P extends Placeable>(p: P, { x, y, width, height }: Required<Placeable>): P {
  return p.width === undefined || p.height === undefined ? { ...p, x, y } : { ...p, x, y, width, height };
}

/** Image-relative → window-relative, clipped; null when (mostly) outside the window (toWindow). */
export function placeInWindow<P extends Placeable>(p: P, window: ImageWindow, imageWidth: number, imageHeight: number): P | null {
  const inside = toWindow(extent(p), window, imageWidth, imageHeight);
  return inside ? moved(p, inside) : null;
}

/** Window-relative → image-relative. */
export const placeInImage = <P extends Placeable>(p: P, window: ImageWindow, imageWidth: number, imageHeight: number): P =>
  moved(p, toImage(extent(p), window, imageWidth, imageHeight));

/** Share of the overlap by which a core is widened (see above). */
const CORE_MARGIN = 1 / 8;

/** The predictions of one window that belong to the image: placed in it, and owned by the window's (widened) core. */
export function ownedPredictions<P extends Placeable>(window: PlannedWindow, predictions: readonly P[], imageWidth: number, imageHeight: number, overlap: number): P[] {
  return predictions
    .map((p) => placeInImage(p, window, imageWidth, imageHeight))
    .filter((p) => ownsCentre(window, p.x * imageWidth, p.y * imageHeight, CORE_MARGIN * overlap));
}
