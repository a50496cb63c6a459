/**
 * Proto ⇄ plugin edge for predictions. Segmentation maps travel as bytes
 * (label_map uint8 per pixel, confidence and logits maps float32
 * little-endian, logits C×H×W) and become typed arrays; malformed maps are
 * INVALID_ARGUMENT before any plugin sees them.
 */
import { invalidField } from '../errors.js';
import type {
  ImagePredictions,
  LabelClass as ProtoLabelClass,
  Prediction as ProtoPrediction,
  SegmentationPrediction as ProtoSegmentation,
} from '../gen/aide/v1/common.js';
import { isSegmentationPrediction, type ImageOutput, type Prediction, type SegmentationPrediction } from '../plugin/data.js';
import { encodeEmbedding } from './embedding.js';

/** float32 LE bytes → Float32Array (copied: wire buffers are not 4-byte aligned). */
function floatsFromBytes(bytes: Uint8Array, field: string): Float32Array {
  if (bytes.length % 4 !== 0) throw invalidField(field, `has ${bytes.length} bytes, not a multiple of 4`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

function floatsToBytes(values: Float32Array): Buffer {
  const out = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) out.writeFloatLE(values[i]!, i * 4);
  return out;
}

function segmentationFromProto(s: ProtoSegmentation, field: string): SegmentationPrediction {
  const pixels = s.width * s.height;
  if (s.labelMap.length !== pixels) throw invalidField(`${field}.label_map`, `has ${s.labelMap.length} bytes, expected ${s.width}×${s.height}`);
  const confidenceMap = floatsFromBytes(s.confidenceMap, `${field}.confidence_map`);
  if (confidenceMap.length !== pixels) throw invalidField(`${field}.confidence_map`, `has ${confidenceMap.length} values, expected ${pixels}`);
  const prediction: SegmentationPrediction = { width: s.width, height: s.height, labelMap: new Uint8Array(s.labelMap), confidenceMap };
  if (s.logitsMap.length > 0) {
    const logitsMap = floatsFromBytes(s.logitsMap, `${field}.logits_map`);
    if (s.numClasses < 1 || logitsMap.length !== s.numClasses * pixels) {
      throw invalidField(`${field}.logits_map`, `has ${logitsMap.length} values, expected num_classes (${s.numClasses}) × ${pixels}`);
    }
    Object.assign(prediction, { logitsMap, numClasses: s.numClasses });
  }
  return prediction;
}

/** A wire prediction as a plugin sees it; `field` names it in errors (e.g. "images[3].predictions[0]"). */
export function predictionFromProto(p: ProtoPrediction, field = 'prediction'): Prediction {
  const common = { id: p.id || undefined, priority: p.priority };
  switch (p.geometry?.$case) {
    case 'segmentation':
      return { ...common, ...segmentationFromProto(p.geometry.value, `${field}.segmentation`) };
    case 'boundingBox':
      return { ...common, label: p.labelClassId, confidence: p.confidence, logits: p.logits, ...p.geometry.value };
    case 'point':
      return { ...common, label: p.labelClassId, confidence: p.confidence, logits: p.logits, ...p.geometry.value };
    default:
      return { ...common, label: p.labelClassId, confidence: p.confidence, logits: p.logits };
  }
}

/** A plugin prediction on the wire; `base` carries what plugins do not see (image and model-state ids). */
export function predictionToProto(p: Prediction, base: Pick<ProtoPrediction, 'imageId' | 'modelStateId'>): ProtoPrediction {
  const out: ProtoPrediction = {
    id: p.id ?? '', imageId: base.imageId, modelStateId: base.modelStateId, labelClassId: '', confidence: 0, logits: [], priority: p.priority ?? 0, geometry: undefined,
  };
  if (isSegmentationPrediction(p)) {
    out.geometry = {
      $case: 'segmentation',
      value: {
        width: p.width,
        height: p.height,
        labelMap: Buffer.from(p.labelMap),
        confidenceMap: floatsToBytes(p.confidenceMap),
        logitsMap: p.logitsMap ? floatsToBytes(p.logitsMap) : Buffer.alloc(0),
        numClasses: p.logitsMap ? (p.numClasses ?? p.logitsMap.length / Math.max(1, p.width * p.height)) : 0,
      },
    };
    return out;
  }
  Object.assign(out, { labelClassId: p.label ?? '', confidence: p.confidence ?? 0, logits: p.logits ?? [] });
  if ('width' in p) out.geometry = { $case: 'boundingBox', value: { x: p.x, y: p.y, width: p.width, height: p.height } };
  else if ('x' in p) out.geometry = { $case: 'point', value: { x: p.x, y: p.y } };
  return out;
}

/** One image's predictions (and embedding) as a model returned them; labels must name one of the job's classes. */
export function toWirePredictions(imageId: string, { predictions, embedding }: ImageOutput, classes: readonly ProtoLabelClass[]): ImagePredictions {
  const known = new Set(classes.map((c) => c.id));
  return {
    imageId,
    predictions: predictions.map((p) => {
      const w = predictionToProto(p, { imageId, modelStateId: '' });
      if (w.labelClassId && !known.has(w.labelClassId)) throw new Error(`model predicted unknown label class ${w.labelClassId}`);
      return w;
    }),
    embedding: embedding ? encodeEmbedding(embedding, `predictions[${imageId}].embedding`) : undefined,
    annotated: false,
  };
}
