/**
 * The data formats a model and a ranker see: the TypeScript twin of the seed's
 * Python dicts. All coordinates are relative to the image (x = 0.5 is the
 * middle); bounding-box x/y are the box centre. Every field the seed calls
 * optional is optional here too: expect it to be missing.
 */

export type AnnotationType = 'labels' | 'points' | 'boundingBoxes' | 'segmentationMasks';

export const ANNOTATION_TYPES: readonly AnnotationType[] = ['labels', 'points', 'boundingBoxes', 'segmentationMasks'];

// ---------------------------------------------------------------- annotations

/** What every annotation may carry; an image label is only this. */
export interface LabelAnnotation {
  id?: string;
  /** Label-class id (a key of TrainingData.labelClasses). */
  label?: string;
  unsure?: boolean;
}

export interface PointAnnotation extends LabelAnnotation {
  x: number;
  y: number;
}

export interface BoundingBoxAnnotation extends PointAnnotation {
  width: number;
  height: number;
}

/**
 * A whole-image mask: base64 of width×height bytes, row-major, each the class
 * index (LabelClass.index, from 1; 0 = unlabelled). Decode with decodeMask().
 */
export interface SegmentationMaskAnnotation {
  id?: string;
  segmentationMask: string;
  width: number;
  height: number;
  unsure?: boolean;
}

export type Annotation = LabelAnnotation | PointAnnotation | BoundingBoxAnnotation | SegmentationMaskAnnotation;

export interface LabelClass {
  name: string;
  /** "#rrggbb" or null. */
  color: string | null;
  /** Ordinal used in segmentation masks; from 1. */
  index: number;
}

export interface ImageEntry<A extends Annotation = Annotation> {
  /** Path relative to the project's folder on the FileServer: pass it to fileServer.getFile(). */
  filename: string;
  annotations?: A[];
}

/**
 * Input of train() (with annotations) and inference() (without). A model for
 * one annotation type narrows A, e.g. `TrainingData<LabelAnnotation>`.
 */
export interface TrainingData<A extends Annotation = Annotation> {
  /** Image id → image. */
  images: Record<string, ImageEntry<A>>;
  /** Label-class id → class. */
  labelClasses: Record<string, LabelClass>;
  /**
   * Segmentation: true → only mask pixels > 0 count in the loss; false →
   * pixels 0 are a "background" class (index 0, then present in labelClasses).
   */
  ignoreUnlabeled?: boolean;
}

/** Input of inference(): as TrainingData, but images carry no annotations. */
export interface InferenceData extends Omit<TrainingData, 'images'> {
  images: Record<string, { filename: string }>;
}

// ---------------------------------------------------------------- predictions

/** An image-label prediction; the common part of every non-segmentation prediction. */
export interface LabelPrediction {
  id?: string;
  /** Predicted label-class id. */
  label?: string;
  /** Confidence of the predicted class, in [0, 1]. */
  confidence?: number;
  /** One value per class (probabilities or raw logits); used by e.g. breaking ties. */
  logits?: number[];
  /** Set by a ranker: higher = more important to annotate, in [0, 1]. */
  priority?: number;
}

export interface PointPrediction extends LabelPrediction {
  x: number;
  y: number;
}

export interface BoundingBoxPrediction extends PointPrediction {
  width: number;
  height: number;
}

/**
 * A segmentation prediction: per-pixel maps of the image's size, row-major
 * (pixel i = y·width + x). Typed arrays where the seed has nested lists.
 */
export interface SegmentationPrediction {
  id?: string;
  width: number;
  height: number;
  /** Predicted class index per pixel (LabelClass.index). */
  labelMap: Uint8Array;
  /** Confidence of the predicted class per pixel, in [0, 1]. */
  confidenceMap: Float32Array;
  /** Per class and pixel, C×H×W (value of class c at pixel i = logitsMap[c·H·W + i]); optional. */
  logitsMap?: Float32Array;
  /** C, the number of class planes in logitsMap. */
  numClasses?: number;
  priority?: number;
}

export type Prediction = LabelPrediction | PointPrediction | BoundingBoxPrediction | SegmentationPrediction;

/** One image's entry of inference() output and rank() input. */
export interface ImageOutput<P extends Prediction = Prediction> {
  predictions: P[];
  /** Why the image could not be read (missing, not an image); then predictions is empty. */
  unreadable?: string;
  /**
   * Optional: the model's embedding of the image, a compact feature vector
   * (the built-ins give their penultimate features). Stored with the
   * predictions as float16 and given to rankers, where diversity rankers
   * (builtin.coreset) measure distances between images on it. Every image of
   * a model should have one of the same length.
   */
  embedding?: Float32Array;
}

/**
 * Output of inference(), input and output of rank(): image id → its
 * predictions (one entry per image). An image inference could not read
 * (missing, not an image) has no predictions and `unreadable` set to why: the
 * job reports it and the image is marked unreadable (see docs/custom-model.md).
 */
export type ImagePredictionsMap<P extends Prediction = Prediction> = Record<string, ImageOutput<P>>;

export type InferenceResult = ImagePredictionsMap;

/**
 * Input of rank(): as inference() returned it, and `annotated` set where the
 * image has annotations (it was predicted too: diversity rankers take such
 * images as centres already covered, and leave them at priority 0).
 */
export type RankData = Record<string, ImageOutput & { annotated?: boolean }>;

export const isSegmentationPrediction = (p: Prediction): p is SegmentationPrediction => 'labelMap' in p;

export const isSegmentationMaskAnnotation = (a: Annotation): a is SegmentationMaskAnnotation => 'segmentationMask' in a;
