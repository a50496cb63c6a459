import { AnnotationType, JobKind, JobState } from '../../libs/gen/aide/v1/common.js';
import { EnumWords } from './parse.js';

/** The enums commands take and print, as words. */
export const annotationTypes = new EnumWords(AnnotationType, 'ANNOTATION_TYPE_');
export const jobKinds = new EnumWords(JobKind, 'JOB_KIND_');
export const jobStates = new EnumWords(JobState, 'JOB_STATE_');
