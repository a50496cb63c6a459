/**
 * The built-in models and rankers (the seed's PREDICTION_MODELS and
 * ALCRITERION_MODELS). Each class carries its own `metadata`; the registry
 * (libs/plugin/registry.ts) validates them on load. Plugins outside this
 * repository are listed in the config instead: [Models] extra.
 */
import type { PluginClass } from '../libs/plugin/plugin.js';
import { LabelsClassifier } from './builtin/classifier/model.js';
import { BoundingBoxDetector } from './builtin/detector/model.js';
import { PointsModel } from './builtin/points/model.js';
import { SegmentationModel } from './builtin/segmentation/model.js';
import { ColourHistogramModel } from './examples/colour-histogram/model.js';
import { OnnxBackboneHead } from './onnx/backbone-head.js';
import { OnnxClassifier } from './onnx/classifier.js';
import { OnnxBoxDetector, OnnxPointDetector } from './onnx/detector.js';
import { BadgeRanker } from './rankers/badge.js';
import { BreakingTiesRanker } from './rankers/breaking-ties.js';
import { CoresetRanker } from './rankers/coreset.js';
import { EntropyRanker } from './rankers/entropy.js';
import { LeastConfidenceRanker } from './rankers/least-confidence.js';
import { MaxConfidenceRanker } from './rankers/max-confidence.js';
import { RandomRanker } from './rankers/random.js';

export const builtins: readonly PluginClass[] = [
  LabelsClassifier,
  BoundingBoxDetector,
  PointsModel,
  SegmentationModel,
  ColourHistogramModel,
  OnnxBoxDetector,
  OnnxPointDetector,
  OnnxClassifier,
  OnnxBackboneHead,
  MaxConfidenceRanker,
  BreakingTiesRanker,
  LeastConfidenceRanker,
  EntropyRanker,
  RandomRanker,
  CoresetRanker,
  BadgeRanker,
];
