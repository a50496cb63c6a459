/**
 * Window cropping for images far larger than a network's input (aerial
 * orthoimages): where the windows go, which part of each window owns the
 * objects whose centre falls in it, and moving coordinates between a window
 * and its whole image. Pure geometry in source pixels; the models decide what
 * to crop and how to predict.
 *
 * Inference slides windows of `size` with `overlap` pixels shared between
 * neighbours; the last window on each axis is aligned to the image's edge.
 * Each window owns a core — up to the middle of its overlaps with its
 * neighbours — and the cores tile the image exactly, so keeping only the
 * objects whose centre lies in their window's core de-duplicates across seams,
 * and per-pixel predictions taken from the window owning each pixel meet
 * without seams or double counting.
 * An object at most `overlap` pixels across is whole in the window that owns it.
 */
import type { ImageWindow } from '../../../libs/plugin/context.js';

export interface TilingGeometry {
  /** Window side in source pixels. */
  size: number;
  /** Pixels neighbouring windows share; at least the largest object's side. */
  overlap: number;
}

/** A window and the part of the image (source pixels, half-open) whose object centres it owns. */
export interface PlannedWindow extends ImageWindow {
  core: { left: number; top: number; right: number; bottom: number };
}

/** Window starts along one axis: stride size − overlap, the last flush with the end. */
function starts(length: number, size: number, overlap: number): number[] {
  if (length <= size) return [0];
  const stride = Math.max(1, size - overlap);
  const out: number[] = [];
  for (let p = 0; p + size < length; p += stride) out.push(p);
  out.push(length - size);
  return out;
}

/** Core bounds along one axis: from the middle of the overlap with the previous window to that with the next. */
function cores(positions: readonly number[], extent: number, length: number): [number, number][] {
  return positions.map((p, i) => [
    i === 0 ? 0 : (positions[i - 1]! + extent + p) / 2,
    i === positions.length - 1 ? length : (p + extent + positions[i + 1]!) / 2,
  ]);
}

/** Windows covering a width×height image, row by row. */
export function slidingWindows(width: number, height: number, { size, overlap }: TilingGeometry): PlannedWindow[] {
  const ww = Math.min(size, width);
  const wh = Math.min(size, height);
  const xs = starts(width, size, overlap);
  const ys = starts(height, size, overlap);
  const xCores = cores(xs, ww, width);
  const yCores = cores(ys, wh, height);
  return ys.flatMap((top, j) => xs.map((left, i) => ({
    left, top, width: ww, height: wh,
    core: { left: xCores[i]![0], right: xCores[i]![1], top: yCores[j]![0], bottom: yCores[j]![1] },
  })));
}

/** Whether a centre (source pixels) belongs to this window's core, widened by `margin` pixels on each side. */
export const ownsCentre = ({ core }: PlannedWindow, x: number, y: number, margin = 0): boolean =>
  x >= core.left - margin && x < core.right + margin && y >= core.top - margin && y < core.bottom + margin;

/** Pixels (whole, half-open bounds) of an image. */
export interface PixelRect {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/**
 * The pixels whose centres the window's core owns: per-pixel predictions
 * stitched from these tile the image exactly, each pixel from one window.
 */
export function corePixels({ core }: PlannedWindow): PixelRect {
  // Centre x + 0.5 in [left, right) ⇔ x in [ceil(left − 0.5), ceil(right − 0.5)).
  const first = (edge: number) => Math.max(0, Math.ceil(edge - 0.5));
  return { left: first(core.left), top: first(core.top), right: first(core.right), bottom: first(core.bottom) };
}

/** An axis-aligned extent in relative coordinates of some frame (x/y = centre). */
export interface RelativeExtent {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Window-relative → image-relative. */
export function toImage<T extends RelativeExtent>(item: T, window: ImageWindow, imageWidth: number, imageHeight: number): T {
  return {
    ...item,
    x: (window.left + item.x * window.width) / imageWidth,
    y: (window.top + item.y * window.height) / imageHeight,
    width: (item.width * window.width) / imageWidth,
    height: (item.height * window.height) / imageHeight,
  };
}

/**
 * Image-relative → window-relative, clipped to the window; null when less than
 * `minVisible` of the item's area lies inside (points: when outside).
 */
export function toWindow<T extends RelativeExtent>(item: T, window: ImageWindow, imageWidth: number, imageHeight: number, minVisible = 0.5): T | null {
  const cx = item.x * imageWidth - window.left;
  const cy = item.y * imageHeight - window.top;
  const w = item.width * imageWidth;
  const h = item.height * imageHeight;
  if (w === 0 || h === 0) {
    const inside = cx >= 0 && cx < window.width && cy >= 0 && cy < window.height;
    return inside ? { ...item, x: cx / window.width, y: cy / window.height, width: 0, height: 0 } : null;
  }
  const x0 = Math.max(0, cx - w / 2);
  const x1 = Math.min(window.width, cx + w / 2);
  const y0 = Math.max(0, cy - h / 2);
  const y1 = Math.min(window.height, cy + h / 2);
  if (x1 <= x0 || y1 <= y0 || ((x1 - x0) * (y1 - y0)) / (w * h) < minVisible) return null;
  return { ...item, x: (x0 + x1) / 2 / window.width, y: (y0 + y1) / 2 / window.height, width: (x1 - x0) / window.width, height: (y1 - y0) / window.height };
}

/**
 * Training windows for one image: one around each object (at a random
 * offset that keeps the object inside where it fits), then `negatives` at
 * random places; all within the image.
 */
export function trainingWindows(
  imageWidth: number,
  imageHeight: number,
  objects: readonly RelativeExtent[],
  size: number,
  negatives: number,
  random: () => number,
): ImageWindow[] {
  const ww = Math.min(size, imageWidth);
  const wh = Math.min(size, imageHeight);
  // Whole-pixel starts that keep the object inside (its centre in the middle where it is too large).
  const place = (centre: number, extent: number, window: number, length: number) => {
    const lo = Math.ceil(centre + extent / 2 - window);
    const hi = Math.floor(centre - extent / 2);
    const start = lo <= hi ? lo + Math.floor(random() * (hi - lo + 1)) : Math.round(centre - window / 2);
    return Math.min(Math.max(0, start), length - window);
  };
  const around = objects.map((o) => ({
    left: place(o.x * imageWidth, o.width * imageWidth, ww, imageWidth),
    top: place(o.y * imageHeight, o.height * imageHeight, wh, imageHeight),
    width: ww, height: wh,
  }));
  const anywhere = Array.from({ length: negatives }, () => ({
    left: Math.floor(random() * (imageWidth - ww + 1)), top: Math.floor(random() * (imageHeight - wh + 1)), width: ww, height: wh,
  }));
  return [...around, ...anywhere];
}
