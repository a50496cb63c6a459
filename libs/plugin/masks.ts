/**
 * Segmentation masks travel as base64 of width×height class-index bytes (the
 * seed's base64ToImage): these helpers convert to and from the raw bytes.
 */
import type { SegmentationMaskAnnotation } from './data.js';

/** The mask's class index per pixel, row-major; throws if the size does not match. */
export function decodeMask(mask: SegmentationMaskAnnotation): Uint8Array {
  const bytes = new Uint8Array(Buffer.from(mask.segmentationMask, 'base64'));
  if (bytes.length !== mask.width * mask.height) {
    throw new Error(`segmentation mask has ${bytes.length} bytes, expected ${mask.width}×${mask.height}`);
  }
  return bytes;
}

export function encodeMask(classIndices: Uint8Array, width: number, height: number): SegmentationMaskAnnotation {
  if (classIndices.length !== width * height) throw new Error(`mask of ${classIndices.length} pixels is not ${width}×${height}`);
  return { segmentationMask: Buffer.from(classIndices).toString('base64'), width, height };
}
