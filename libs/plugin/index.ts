/** The plugin API: what model and ranker authors import. No gRPC in here. */
export * from './context.js';
export * from './data.js';
export * from './plugin.js';
export { rankInMemory, selectionPriorities } from './pool-selection.js';
export { parseMetadata, sanitizeDescription, type PluginKind, type PluginMetadata, type PluginMetadataInput } from './metadata.js';
export { getOptionValue, parseOptionsJson, unknownOptionKeys, type ParsedOptions } from './options.js';
export { decodeMask, encodeMask } from './masks.js';
export { verifyPluginOptions, CANNOT_VERIFY_WARNING, type VerifiedOptions } from './verify-options.js';
export { noDatabase, noFiles, probeContext, PROBE_PROJECT } from './probe.js';
export { LocalFileSource } from './local-file-source.js';
export { isUnreadable, unreadableReason, type Unreadable } from './unreadable.js';
export { loadRegistry, type LoadRegistryOptions, type Registry, type RegistryEntry, type RegistryError } from './registry.js';
