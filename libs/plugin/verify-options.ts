/**
 * Normalizes what a plugin's verifyOptions returns (nothing, a boolean, or a
 * detailed result) to one shape, so callers never deal with the three forms.
 */
import type { PluginOptions } from './context.js';
import type { PluginStatics, VerifyOptionsResult } from './plugin.js';

export interface VerifiedOptions {
  valid: boolean;
  /** Minor problems: shown to the user, the options still work. */
  warnings: string[];
  /** Why the plugin cannot run with these options. */
  errors: string[];
  /** The options to use: the plugin's auto-completed or corrected ones, else the given ones. */
  options: PluginOptions;
}

export const CANNOT_VERIFY_WARNING =
  'This plugin cannot verify its options; they were only checked by constructing it with them.';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/**
 * Runs verifyOptions and normalizes its result. Where the plugin cannot tell
 * (no verifyOptions, or it returns undefined/null), `construct` is tried with
 * the options instead; a throwing verifyOptions makes the options invalid.
 */
export async function verifyPluginOptions(
  plugin: PluginStatics,
  options: PluginOptions,
  construct: (options: PluginOptions) => unknown,
): Promise<VerifiedOptions> {
  let result: VerifyOptionsResult;
  try {
    result = await plugin.verifyOptions?.(options);
  } catch (err) {
    return { valid: false, warnings: [], errors: [`verifying the options failed: ${message(err)}`], options };
  }
  if (result === undefined || result === null) {
    try {
      construct(options);
      return { valid: true, warnings: [CANNOT_VERIFY_WARNING], errors: [], options };
    } catch (err) {
      return { valid: false, warnings: [], errors: [`constructing with these options failed: ${message(err)}`], options };
    }
  }
  if (typeof result === 'boolean') {
    return { valid: result, warnings: [], errors: result ? [] : ['the options are invalid'], options };
  }
  if (typeof result !== 'object') {
    // Only reachable from untyped (JavaScript) plugins.
    return { valid: false, warnings: [], errors: [`verifyOptions returned an unsupported ${typeof result}`], options };
  }
  const errors = isStringList(result.errors) ? result.errors : [];
  const warnings = isStringList(result.warnings) ? result.warnings : [];
  const valid = typeof result.valid === 'boolean' ? result.valid : errors.length === 0;
  if (!valid && errors.length === 0) errors.push('the options are invalid');
  const verified = typeof result.options === 'object' && result.options !== null ? result.options : options;
  return { valid, warnings, errors, options: verified };
}
