/** Predictions ⇄ aide.v1 (the orchestrator stores what workers return; the API lists them). */
import type { ImagePredictions as ProtoImagePredictions, Prediction as ProtoPrediction } from '../../../libs/gen/aide/v1/common.js';
import { checkEmbedding } from '../../../libs/wire/embedding.js';
import type { ImagePredictions, OutgoingImagePredictions, Prediction, PredictionInput } from '../domain.js';

function geometryFromProto(g: ProtoPrediction['geometry']): PredictionInput['geometry'] {
  switch (g?.$case) {
    case 'point': return { kind: 'point', ...g.value };
    case 'boundingBox': return { kind: 'box', ...g.value };
    case 'segmentation': return { kind: 'segmentation', ...g.value };
    default: return { kind: 'label' };
  }
}

function geometryToProto(g: Prediction['geometry']): ProtoPrediction['geometry'] {
  switch (g.kind) {
    case 'point': return { $case: 'point', value: { x: g.x, y: g.y } };
    case 'box': return { $case: 'boundingBox', value: { x: g.x, y: g.y, width: g.width, height: g.height } };
    case 'segmentation': {
      const { kind: _, ...maps } = g;
      return {
        $case: 'segmentation',
        value: { ...maps, labelMap: Buffer.from(maps.labelMap), confidenceMap: Buffer.from(maps.confidenceMap), logitsMap: Buffer.from(maps.logitsMap) },
      };
    }
    default: return undefined;
  }
}

export const predictionFromProto = (p: ProtoPrediction): PredictionInput => ({
  labelClassId: p.labelClassId || null,
  confidence: p.confidence,
  logits: p.logits,
  priority: p.priority,
  geometry: geometryFromProto(p.geometry),
});

/** What a worker sent for an image; an embedding whose bytes do not hold its dim values is INVALID_ARGUMENT. */
export function imagePredictionsFromProto(ip: ProtoImagePredictions): ImagePredictions {
  const out: ImagePredictions = { imageId: ip.imageId, predictions: ip.predictions.map(predictionFromProto) };
  if (ip.embedding) {
    checkEmbedding(ip.embedding, `predictions[${ip.imageId}].embedding`);
    if (ip.embedding.dim > 0) out.embedding = { dim: ip.embedding.dim, float16: ip.embedding.float16 };
  }
  return out;
}

export const predictionToProto = (p: Prediction): ProtoPrediction => ({
  id: p.id,
  imageId: p.imageId,
  modelStateId: p.stateId,
  labelClassId: p.labelClassId ?? '',
  confidence: p.confidence,
  logits: p.logits,
  priority: p.priority,
  geometry: geometryToProto(p.geometry),
});

export const imagePredictionsToProto = (ip: OutgoingImagePredictions): ProtoImagePredictions => ({
  imageId: ip.imageId,
  predictions: ip.predictions.map(predictionToProto),
  embedding: ip.embedding ? { dim: ip.embedding.dim, float16: Buffer.from(ip.embedding.float16) } : undefined,
  annotated: ip.annotated,
});
