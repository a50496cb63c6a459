/**
 * The model's feature: a joint RGB colour histogram (bins³ entries summing
 * to 1) of an image decoded and downsized with sharp.
 */
import sharp from 'sharp';
import type { HistogramSettings } from './settings.js';

export async function colourHistogram(image: Buffer, { bins, imageSize }: Pick<HistogramSettings, 'bins' | 'imageSize'>): Promise<Float64Array> {
  const { data, info } = await sharp(image)
    .removeAlpha()
    .toColourspace('srgb')
    .resize(imageSize, imageSize, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const histogram = new Float64Array(bins ** 3);
  const pixels = info.width * info.height;
  const step = info.channels;
  const bin = (v: number) => Math.min(bins - 1, Math.floor((v * bins) / 256));
  for (let i = 0; i < data.length; i += step) {
    histogram[(bin(data[i]!) * bins + bin(data[i + 1]!)) * bins + bin(data[i + 2]!)]! += 1 / pixels;
  }
  return histogram;
}

/** L1 distance between two histograms, in [0, 2]. */
export function l1Distance(a: Float64Array | number[], b: Float64Array | number[]): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += Math.abs(a[i]! - b[i]!);
  return d;
}
