/** Project settings checked against the plugin registry before they are stored. */
import { invalidArgument, invalidField, isAideError, type FieldViolation } from '../../../libs/errors.js';
import type { Registry } from '../../../libs/plugin/registry.js';
import type { AnnotationType, ProjectSettings } from '../domain.js';

export interface Types {
  annotationType: AnnotationType;
  predictionType: AnnotationType;
}

/** The options to store: the plugin's corrected ones, or '' (= its defaults) when none were given. */
async function verifiedOptions(
  registry: Registry, key: string, optionsJson: string, field: string, warnings: string[],
): Promise<string> {
  const verified = await registry.verifyOptions(key, optionsJson);
  if (!verified.valid) {
    const violations: FieldViolation[] = verified.errors.map((description) => ({ field, description }));
    throw invalidArgument(violations);
  }
  warnings.push(...verified.warnings);
  return optionsJson.trim() === '' ? '' : JSON.stringify(verified.options);
}

function knownPlugin(lookup: () => unknown, field: string, key: string): void {
  try {
    lookup();
  } catch (err) {
    if (isAideError(err, 'NOT_FOUND')) throw invalidField(field, `'${key}' is not a registered plugin of this kind`);
    throw err;
  }
}

/**
 * Why model `library` cannot serve a project of these types (not a registered
 * model, or it learns from or predicts other types), or undefined where it can.
 */
export function modelMismatch(registry: Registry, library: string, types: Types): string | undefined {
  const entry = registry.models.get(library);
  if (!entry) return `'${library}' is not a registered model`;
  const { meta } = entry;
  if (meta.annotationTypes.includes(types.annotationType) && meta.predictionTypes.includes(types.predictionType)) return undefined;
  return `'${library}' learns from ${meta.annotationTypes.join('/')} and predicts ${meta.predictionTypes.join('/')}, not ${types.annotationType} → ${types.predictionType}`;
}

/**
 * Checks the model (known, fits the project's annotation and prediction
 * types) and ranker, and their options through each plugin's verifyOptions;
 * returns the settings to store and the plugins' warnings. An empty library
 * means none chosen yet (the project cannot train until one is).
 */
export async function verifySettings(registry: Registry, s: ProjectSettings, types: Types): Promise<{ settings: ProjectSettings; warnings: string[] }> {
  const warnings: string[] = [];
  const settings = { ...s, autoTrain: { ...s.autoTrain } };
  if (s.modelLibrary !== '') {
    const mismatch = modelMismatch(registry, s.modelLibrary, types);
    if (mismatch) throw invalidField('settings.model_library', mismatch);
    settings.modelOptionsJson = await verifiedOptions(registry, s.modelLibrary, s.modelOptionsJson, 'settings.model_options_json', warnings);
  }
  if (s.rankerLibrary !== '') {
    knownPlugin(() => registry.getRanker(s.rankerLibrary), 'settings.ranker_library', s.rankerLibrary);
    settings.rankerOptionsJson = await verifiedOptions(registry, s.rankerLibrary, s.rankerOptionsJson, 'settings.ranker_options_json', warnings);
  }
  return { settings, warnings };
}
