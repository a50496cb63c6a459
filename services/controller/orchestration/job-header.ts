import type pg from 'pg';
import type { ImageData } from '../../../libs/gen/aide/v1/worker.js';
import { annotationTypeToProto } from '../../../libs/wire/plugin-info.js';
import type { ImageWithAnnotations, LabelClass, Project } from '../domain.js';
import { listLabelClasses } from '../store/label-classes.js';
import { annotationToProto } from '../wire/annotation.js';
import { labelClassToProto } from '../wire/image.js';
import type { JobHeaderBase } from '../../../libs/worker-client/worker-client.js';

/** The worker's job header for a project as it is now. */
export async function jobHeader(db: pg.Pool, project: Project, jobId: string): Promise<{ header: JobHeaderBase; classes: LabelClass[] }> {
  const classes = await listLabelClasses(db, project.name);
  return {
    classes,
    header: {
      jobId,
      project: project.name,
      modelLibrary: project.settings.modelLibrary,
      modelOptionsJson: project.settings.modelOptionsJson,
      annotationType: annotationTypeToProto(project.annotationType),
      predictionType: annotationTypeToProto(project.predictionType),
      labelClasses: classes.map(labelClassToProto),
      ignoreUnlabeled: project.settings.ignoreUnlabeled,
      traceparent: '',
    },
  };
}

/** The seed's data dict entries, as the worker protocol carries them. */
export const toImageData = (images: readonly (Pick<ImageWithAnnotations, 'id' | 'filePath'> & { annotations?: ImageWithAnnotations['annotations'] })[]): ImageData[] =>
  images.map((i) => ({ id: i.id, filename: i.filePath, annotations: (i.annotations ?? []).map(annotationToProto) }));
