/**
 * How a model state does on a golden question: its predictions of the image
 * against the image's annotations (the known answer), as three counts that
 * add up over images, so a state's accuracy is the sum of its images'.
 *
 *   labels        matched = 1 if the top-confidence label is an annotated class of the image;
 *                 predicted = 1 if the state predicted a label; annotated = 1.
 *                 The image's classes are its label annotations' (else those of its other annotations).
 *   points        predictions matched one-to-one to point annotations of the same class within
 *                 POINT_MATCH_RADIUS (relative coordinates), greedily by confidence;
 *                 matched = true positives, predicted = predictions, annotated = annotations.
 *   boxes         as points, matched at IoU ≥ BOX_MATCH_IOU.
 *   segmentation  annotated = labelled (non-zero) pixels of the image's masks; predicted = those
 *                 a predicted label map covers; matched = those whose predicted class is the
 *                 annotated one (the map sampled nearest-neighbour at the mask's resolution).
 *
 * precision = matched / predicted, recall = matched / annotated; the headline
 * score is F1 for points and boxes, recall (= accuracy) for labels and
 * segmentation. An image without an annotation of the compared kind is not
 * scored (nothing says what the right answer is).
 */
import type { Annotation, AnnotationType, Mask, PredictionInput as Prediction, SegmentationMaps } from './domain.js';

export const POINT_MATCH_RADIUS = 0.05;
export const BOX_MATCH_IOU = 0.5;

export interface GoldenCounts {
  matched: number;
  predicted: number;
  annotated: number;
}

export interface GoldenScores {
  precision: number;
  recall: number;
  /** F1 for points and boxes, accuracy (recall) for labels and segmentation. */
  score: number;
}

type Geometry = Annotation['geometry'] | Prediction['geometry'];
type Point = Extract<Geometry, { kind: 'point' }>;
type Box = Extract<Geometry, { kind: 'box' }>;

/** An annotation or prediction of one geometry kind, by class. */
interface Located<G> {
  labelClassId: string | null;
  geometry: G;
  confidence: number;
}

/** Those of `xs` whose geometry `pick` accepts (annotations count as fully confident). */
const located = <G>(xs: readonly (Annotation | Prediction)[], pick: (g: Geometry) => G | undefined): Located<G>[] =>
  xs.flatMap((x) => {
    const geometry = pick(x.geometry);
    return geometry === undefined ? [] : [{ labelClassId: x.labelClassId, geometry, confidence: 'confidence' in x ? x.confidence : 1 }];
  });

const point = (g: Geometry): Point | undefined => (g.kind === 'point' ? g : undefined);
const box = (g: Geometry): Box | undefined => (g.kind === 'box' ? g : undefined);

/**
 * One-to-one matches between predictions (highest confidence first, each
 * taking its best-scoring free annotation) and annotations; `score` is
 * undefined where a pair may not match.
 */
function greedyMatches<A, P extends { confidence: number }>(annotations: readonly A[], predictions: readonly P[], score: (a: A, p: P) => number | undefined): number {
  const free = new Set(annotations.keys());
  let matched = 0;
  for (const p of [...predictions].sort((a, b) => b.confidence - a.confidence)) {
    let best: number | undefined;
    let bestScore = -Infinity;
    for (const i of free) {
      const s = score(annotations[i]!, p);
      if (s !== undefined && s > bestScore) { best = i; bestScore = s; }
    }
    if (best !== undefined) { free.delete(best); matched++; }
  }
  return matched;
}

/** Intersection over union of two centre-based boxes. */
export function iou(a: { x: number; y: number; width: number; height: number }, b: { x: number; y: number; width: number; height: number }): number {
  const w = Math.min(a.x + a.width / 2, b.x + b.width / 2) - Math.max(a.x - a.width / 2, b.x - b.width / 2);
  const h = Math.min(a.y + a.height / 2, b.y + b.height / 2) - Math.max(a.y - a.height / 2, b.y - b.height / 2);
  const inter = Math.max(0, w) * Math.max(0, h);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

function labelCounts(annotations: readonly Annotation[], predictions: readonly Prediction[]): GoldenCounts | undefined {
  const labels = annotations.filter((a) => a.geometry.kind === 'label');
  const classes = new Set((labels.length > 0 ? labels : annotations).map((a) => a.labelClassId).filter((c) => c !== null));
  if (classes.size === 0) return undefined;
  let top: Prediction | undefined;
  for (const p of predictions) if (p.geometry.kind === 'label' && (!top || p.confidence > top.confidence)) top = p;
  return { matched: top && top.labelClassId !== null && classes.has(top.labelClassId) ? 1 : 0, predicted: top ? 1 : 0, annotated: 1 };
}

function objectCounts<G>(
  annotations: readonly Annotation[], predictions: readonly Prediction[], pick: (g: Geometry) => G | undefined, score: (a: G, p: G) => number | undefined,
): GoldenCounts | undefined {
  const anns = located(annotations, pick);
  if (anns.length === 0) return undefined;
  const preds = located(predictions, pick);
  const sameClass = (a: Located<G>, p: Located<G>) => (a.labelClassId === p.labelClassId ? score(a.geometry, p.geometry) : undefined);
  return { matched: greedyMatches(anns, preds, sameClass), predicted: preds.length, annotated: anns.length };
}

function pixelCounts(annotations: readonly Annotation[], predictions: readonly Prediction[]): GoldenCounts | undefined {
  const masks = annotations.map((a) => a.geometry).filter((g): g is Mask => g.kind === 'mask');
  if (masks.length === 0) return undefined;
  const seg = predictions.map((p) => p.geometry).find((g): g is SegmentationMaps => g.kind === 'segmentation');
  const counts: GoldenCounts = { matched: 0, predicted: 0, annotated: 0 };
  for (const m of masks) {
    for (let y = 0; y < m.height; y++) {
      const sy = seg ? Math.min(seg.height - 1, Math.floor((y + 0.5) * seg.height / m.height)) : 0;
      for (let x = 0; x < m.width; x++) {
        const truth = m.data[y * m.width + x]!;
        if (truth === 0) continue;
        counts.annotated++;
        if (!seg) continue;
        counts.predicted++;
        const sx = Math.min(seg.width - 1, Math.floor((x + 0.5) * seg.width / m.width));
        if (seg.labelMap[sy * seg.width + sx] === truth) counts.matched++;
      }
    }
  }
  return counts;
}

/** The counts of one golden question for a state predicting `type`; undefined when the image has no comparable annotation. */
export function goldenCounts(type: AnnotationType, annotations: readonly Annotation[], predictions: readonly Prediction[]): GoldenCounts | undefined {
  switch (type) {
    case 'labels': return labelCounts(annotations, predictions);
    case 'points': return objectCounts(annotations, predictions, point, (a, p) => {
      const d = Math.hypot(a.x - p.x, a.y - p.y);
      return d <= POINT_MATCH_RADIUS ? -d : undefined;
    });
    case 'boundingBoxes': return objectCounts(annotations, predictions, box, (a, p) => {
      const overlap = iou(a, p);
      return overlap >= BOX_MATCH_IOU ? overlap : undefined;
    });
    case 'segmentationMasks': return pixelCounts(annotations, predictions);
  }
}

export function goldenScores(type: AnnotationType, c: GoldenCounts): GoldenScores {
  const precision = c.predicted > 0 ? c.matched / c.predicted : 0;
  const recall = c.annotated > 0 ? c.matched / c.annotated : 0;
  const f1 = c.predicted + c.annotated > 0 ? (2 * c.matched) / (c.predicted + c.annotated) : 0;
  return { precision, recall, score: type === 'points' || type === 'boundingBoxes' ? f1 : recall };
}
