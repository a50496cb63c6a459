/**
 * The controller's plain domain types: what the store reads and writes and the
 * orchestrator works with. Proto types stay at the gRPC edge (wire/).
 */
import type { AnnotationType } from '../../libs/plugin/data.js';

export type { AnnotationType };

export interface AutoTrainPolicy {
  enabled: boolean;
  minNewAnnotations: number;
  numWorkers: number;
  numEpochs: number;
}

export interface ProjectSettings {
  modelLibrary: string;
  modelOptionsJson: string;
  rankerLibrary: string;
  rankerOptionsJson: string;
  autoTrain: AutoTrainPolicy;
  ignoreUnlabeled: boolean;
  minAnnotationsPerImage: number;
  maxTrainingImages: number;
}

export interface Project {
  name: string;
  displayName: string;
  annotationType: AnnotationType;
  predictionType: AnnotationType;
  settings: ProjectSettings;
  currentStateId: string | null;
  annotationsSinceTraining: number;
  createdAt: Date;
}

export type NewProject = Pick<Project, 'name' | 'displayName' | 'annotationType' | 'predictionType' | 'settings'>;

export interface LabelClass {
  id: string;
  project: string;
  name: string;
  /** "#rrggbb" or ''. */
  color: string;
  /** From 1; the value a segmentation mask holds for this class. */
  index: number;
}

export interface Image {
  id: string;
  project: string;
  filePath: string;
  /** 0 when unknown (the FileServer could not decode it at registration). */
  width: number;
  height: number;
  sizeBytes: number;
  addedAt: Date;
  lastViewedAt: Date | null;
  goldenQuestion: boolean;
  annotationCount: number;
  hasPredictions: boolean;
  /** Why the image cannot be read (registration or the last job that tried found); '' while readable. */
  unreadableReason: string;
}

/** Where an annotation or prediction lies; coordinates relative to the image, box x/y the centre. */
export type Geometry =
  | { kind: 'label' }
  | { kind: 'point'; x: number; y: number }
  | { kind: 'box'; x: number; y: number; width: number; height: number };

/** One byte per pixel, row-major: the class index (0 = unlabelled). */
export interface Mask {
  kind: 'mask';
  data: Uint8Array;
  width: number;
  height: number;
}

export interface Annotation {
  id: string;
  imageId: string;
  /** null for masks: their classes are in the pixels. */
  labelClassId: string | null;
  unsure: boolean;
  author: string;
  createdAt: Date;
  geometry: Geometry | Mask;
}

/** An annotation to write: without id it is created, with id it replaces that one. */
export type AnnotationInput = Omit<Annotation, 'id' | 'createdAt'> & { id?: string };

/** Per-pixel maps of a segmentation prediction (float32 little-endian maps as bytes). */
export interface SegmentationMaps {
  kind: 'segmentation';
  width: number;
  height: number;
  labelMap: Uint8Array;
  confidenceMap: Uint8Array;
  logitsMap: Uint8Array;
  numClasses: number;
}

export interface Prediction {
  id: string;
  imageId: string;
  stateId: string;
  labelClassId: string | null;
  confidence: number;
  logits: number[];
  priority: number;
  geometry: Geometry | SegmentationMaps;
}

export type PredictionInput = Omit<Prediction, 'id' | 'imageId' | 'stateId'>;

/** A model's embedding of an image: `dim` float16 values, little-endian (libs/wire/embedding.ts). */
export interface ImageEmbedding {
  dim: number;
  float16: Uint8Array;
}

/** All predictions of one image, as a model returns them, with its embedding if the model gives one. */
export interface ImagePredictions {
  imageId: string;
  predictions: PredictionInput[];
  embedding?: ImageEmbedding;
}

/** All stored predictions of one image. */
export interface StoredImagePredictions {
  imageId: string;
  predictions: Prediction[];
}

/** As stored predictions leave the controller (StreamPredictions, ranking): with the embedding and whether the image is annotated. */
export interface OutgoingImagePredictions extends StoredImagePredictions {
  embedding?: ImageEmbedding;
  annotated: boolean;
}

/** An image with its annotations: one entry of the worker's data dict. */
export interface ImageWithAnnotations {
  id: string;
  filePath: string;
  annotations: Annotation[];
}

export interface ModelStateMeta {
  project: string;
  modelLibrary: string;
  /** Label-class id → output index. */
  labelClassMap: Record<string, number>;
  stats: Record<string, number>;
  parentId: string | null;
  numImages: number;
}

/** Where a partial state belongs: a training job's round, and its shard (null: the round's average). */
export interface TrainingPart {
  jobId: string;
  round: number;
  shard: number | null;
  /** Fingerprint of what the job trains: a resumed job reuses only states made from the same inputs. */
  inputs: string;
}

export interface ModelStateInfo extends ModelStateMeta {
  id: string;
  /** Contiguous per project from 1; null for partial states (intermediate states of a training job). */
  version: number | null;
  sizeBytes: number;
  sha256: Buffer;
  partial: boolean;
  createdAt: Date;
  /** Whether the project trains and predicts from it. */
  current: boolean;
  /** Partial states only: the training job, round and shard it belongs to. */
  part: TrainingPart | null;
}

export type JobKind = 'train' | 'inference' | 'rank' | 'average' | 'workflow';
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export const TERMINAL_JOB_STATES: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled']);

export interface Job {
  id: string;
  project: string;
  kind: JobKind;
  state: JobState;
  done: number;
  total: number;
  message: string;
  options: Record<string, unknown>;
  worker: string;
  attempts: number;
  error: string;
  /** The workflow this job is a step of. */
  parentId: string | null;
  stepIndex: number | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  cancelRequested: boolean;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
}

export type NewJob = Pick<Job, 'project' | 'kind' | 'options'> & Partial<Pick<Job, 'state' | 'parentId' | 'stepIndex' | 'total'>>;

/** What updateJob may change. */
export type JobPatch = Partial<Pick<Job,
  'state' | 'done' | 'total' | 'message' | 'options' | 'worker' | 'attempts' | 'error' | 'startedAt' | 'finishedAt'
  | 'cancelRequested' | 'leaseOwner' | 'leaseExpiresAt'>>;

/** One progress report of a job, as persisted for replay. */
export interface JobEvent {
  seq: number;
  state: JobState;
  modelState: string;
  message: string;
  done: number;
  total: number;
  workerId: string;
  time: Date;
}

export interface MarketplaceEntry {
  id: string;
  name: string;
  description: string;
  author: string;
  annotationType: AnnotationType;
  predictionType: AnnotationType;
  originProject: string;
  modelLibrary: string;
  modelStateId: string;
  /** Label-class name → output index. */
  labelClassNames: Record<string, number>;
  createdAt: Date;
}

/** Keyset paging: rows after the cursor, at most `limit`. */
export interface PageQuery {
  after?: string;
  limit: number;
}
