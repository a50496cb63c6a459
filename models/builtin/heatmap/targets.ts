/**
 * Training targets of the heatmap network (layout in heatmap/network.ts)
 * from objects in relative image coordinates, after the image's
 * augmentation: each object is moved (and a box clipped) with the image, then
 * drawn as a Gaussian around its centre cell on its class's heatmap, with
 * the sub-cell offset (and log size) as regression targets at that cell.
 */
import { mapPoint, type Transform } from '../augment.js';
import type { TargetEncoder } from '../batch.js';
import { gridSize, regressionChannels, type HeatmapArch } from './network.js';

/** An object: centre (x, y) relative to the image; width and height for boxes; output index of its class. */
export interface Instance {
  x: number;
  y: number;
  width?: number;
  height?: number;
  classIndex: number;
}

/** A box must keep this share of its area after cropping to stay a target. */
const MIN_VISIBLE = 0.25;

/** Spread of a point's Gaussian, in cells. */
const POINT_SIGMA = 0.75;

/** Gaussian spread of a box (in cells) per axis: a sixth of its extent, as TTFNet, but never a delta. */
const boxSigma = (cells: number) => Math.max(0.5, cells / 6);

/** The instance as seen in the transformed image, or undefined when it left it. */
export function transformInstance(o: Instance, t: Transform): Instance | undefined {
  if (o.width === undefined || o.height === undefined) {
    const [x, y] = mapPoint(t, o.x, o.y);
    return x >= 0 && x < 1 && y >= 0 && y < 1 ? { ...o, x, y } : undefined;
  }
  const [ax, ay] = mapPoint(t, o.x - o.width / 2, o.y - o.height / 2);
  const [bx, by] = mapPoint(t, o.x + o.width / 2, o.y + o.height / 2);
  const [x0, x1, y0, y1] = [Math.min(ax, bx), Math.max(ax, bx), Math.min(ay, by), Math.max(ay, by)];
  const [cx0, cx1, cy0, cy1] = [Math.max(0, x0), Math.min(1, x1), Math.max(0, y0), Math.min(1, y1)];
  if (cx1 <= cx0 || cy1 <= cy0 || (cx1 - cx0) * (cy1 - cy0) < MIN_VISIBLE * (x1 - x0) * (y1 - y0)) return undefined;
  return { ...o, x: (cx0 + cx1) / 2, y: (cy0 + cy1) / 2, width: cx1 - cx0, height: cy1 - cy0 };
}

export function heatmapTargets(arch: HeatmapArch): TargetEncoder<readonly Instance[]> {
  const g = gridSize(arch);
  const { classes } = arch;
  const channels = classes + 1 + regressionChannels(arch);
  return {
    length: g * g * channels,
    write(instances, t, out, offset) {
      for (const original of instances) {
        const o = transformInstance(original, t);
        if (!o) continue;
        const [gx, gy] = [o.x * g, o.y * g];
        const [cx, cy] = [Math.min(g - 1, Math.floor(gx)), Math.min(g - 1, Math.floor(gy))];
        const box = o.width !== undefined && o.height !== undefined;
        const [sx, sy] = box ? [boxSigma(o.width! * g), boxSigma(o.height! * g)] : [POINT_SIGMA, POINT_SIGMA];
        const [rx, ry] = [Math.ceil(3 * sx), Math.ceil(3 * sy)];
        for (let y = Math.max(0, cy - ry); y <= Math.min(g - 1, cy + ry); y++) {
          for (let x = Math.max(0, cx - rx); x <= Math.min(g - 1, cx + rx); x++) {
            const value = Math.exp(-((x - cx) ** 2) / (2 * sx * sx) - (y - cy) ** 2 / (2 * sy * sy));
            const at = offset + (y * g + x) * channels + o.classIndex;
            if (value > out[at]!) out[at] = value;
          }
        }
        // One regression target per cell: the first object there keeps it.
        const cell = offset + (cy * g + cx) * channels;
        if (out[cell + classes] === 1) continue;
        out[cell + classes] = 1;
        out[cell + classes + 1] = gx - cx;
        out[cell + classes + 2] = gy - cy;
        if (box) {
          out[cell + classes + 3] = Math.log(o.width! * g);
          out[cell + classes + 4] = Math.log(o.height! * g);
        }
      }
    },
  };
}
