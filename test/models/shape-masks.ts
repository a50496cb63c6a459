/**
 * Generated segmentation data: 80×64 PNGs holding one to three shapes
 * (circle, square, triangle; random sizes and positions) over noisy grey
 * backgrounds, with masks in the seed's base64 format, written under
 * <root>/<project>/ for a LocalFileSource. The truth labels every pixel: its
 * shape's class index, or the background's index.
 *
 * Colour is a partial cue, as in aerial images: each class's hues spread
 * over 150° around its own centre (120° apart), so neighbouring classes share
 * a band of hues and only the shape tells them apart there.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import seedrandom from 'seedrandom';
import sharp from 'sharp';
import type { LabelClass, SegmentationMaskAnnotation, TrainingData } from '../../libs/plugin/data.js';
import { encodeMask } from '../../libs/plugin/masks.js';
import { inside, PROJECT } from './shapes.js';

export const MASK_SHAPES = ['circle', 'square', 'triangle'] as const;
export const WIDTH = 80;
export const HEIGHT = 64;

/** Background as AIDE's class of index 0 (pixels 0 count as background), or as a class "ground" of its own (0 = unlabelled). */
export type Background = 'index0' | 'ground';

export const GROUND_INDEX = MASK_SHAPES.length + 1;

export function maskClasses(background: Background): Record<string, LabelClass> {
  const shapes = Object.fromEntries(MASK_SHAPES.map((s, k) => [`lc-${s}`, { name: s, color: null, index: k + 1 }]));
  return background === 'index0'
    ? { 'lc-background': { name: 'background', color: null, index: 0 }, ...shapes }
    : { ...shapes, 'lc-ground': { name: 'ground', color: null, index: GROUND_INDEX } };
}

export interface MaskSetOptions {
  background: Background;
  /** Training masks leave the left half of every shape unlabelled (0). */
  hideLeftHalves?: boolean;
  /** Faint shapes in heavy noise: harder to segment. */
  hard?: boolean;
}

export interface MaskSet {
  data: TrainingData<SegmentationMaskAnnotation>;
  /** Image id → the full truth (class index per pixel, WIDTH×HEIGHT). */
  truth: Record<string, Uint8Array>;
}

/** RGB of hue h (degrees), saturation s and value v in [0, 1], as 0–255. */
function hsv(h: number, s: number, v: number): number[] {
  const f = (n: number) => {
    const k = (n + h / 60) % 6;
    return 255 * (v - v * s * Math.max(0, Math.min(k, 4 - k, 1)));
  };
  return [f(5), f(3), f(1)];
}

function drawImage(random: () => number, { background, hideLeftHalves = false, hard = false }: MaskSetOptions) {
  const pixels = Buffer.alloc(WIDTH * HEIGHT * 3);
  const truth = new Uint8Array(WIDTH * HEIGHT).fill(background === 'index0' ? 0 : GROUND_INDEX);
  const shown = new Uint8Array(truth);
  const grey = 30 + random() * 160;
  const bg = [0, 1, 2].map(() => grey + (random() - 0.5) * 40);
  const colour = new Array<number[]>(WIDTH * HEIGHT).fill(bg);
  const count = 1 + Math.floor(random() * 3);
  for (let s = 0; s < count; s++) {
    const k = Math.floor(random() * MASK_SHAPES.length);
    const r = 9 + random() * 8;
    const cx = r + random() * (WIDTH - 2 * r);
    const cy = r + random() * (HEIGHT - 2 * r);
    const vivid = hsv((360 + 120 * k + (random() - 0.5) * 150) % 360, 0.6 + random() * 0.4, 0.6 + random() * 0.4);
    // Hard images: the shape's colour mostly washed into the background.
    const fg = hard ? vivid.map((v, c) => 0.7 * bg[c]! + 0.3 * v) : vivid;
    for (let y = 0; y < HEIGHT; y++) {
      for (let x = 0; x < WIDTH; x++) {
        if (!inside[MASK_SHAPES[k]!](x - cx, y - cy, r)) continue;
        const i = y * WIDTH + x;
        truth[i] = k + 1;
        shown[i] = hideLeftHalves && x < cx ? 0 : k + 1;
        colour[i] = fg;
      }
    }
  }
  const noise = hard ? 80 : 30;
  for (let i = 0; i < WIDTH * HEIGHT; i++) {
    for (let c = 0; c < 3; c++) pixels[i * 3 + c] = Math.max(0, Math.min(255, colour[i]![c]! + (random() - 0.5) * noise));
  }
  return { pixels, truth, shown };
}

/** `count` images under <root>/shapes/<split>/, with masks and the full truth. */
export async function makeMaskSet(root: string, split: string, count: number, seed: number, options: MaskSetOptions): Promise<MaskSet> {
  const random = seedrandom(`${split}:${seed}`);
  const dir = path.join(root, PROJECT, split);
  await mkdir(dir, { recursive: true });
  const images: MaskSet['data']['images'] = {};
  const truth: MaskSet['truth'] = {};
  for (let k = 0; k < count; k++) {
    const drawn = drawImage(random, options);
    const filename = `${split}/${k}.png`;
    await writeFile(path.join(root, PROJECT, filename), await sharp(drawn.pixels, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } }).png().toBuffer());
    const id = `${split}-${k}`;
    images[id] = { filename, annotations: [{ id: `a-${id}`, ...encodeMask(drawn.shown, WIDTH, HEIGHT) }] };
    truth[id] = drawn.truth;
  }
  return { data: { images, labelClasses: maskClasses(options.background), ignoreUnlabeled: options.background === 'ground' }, truth };
}
