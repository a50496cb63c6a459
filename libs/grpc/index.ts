export * from './context.js';
export * from './status.js';
export * from './implement.js';
export * from './server.js';
export * from './client.js';
export { logging } from './middleware/logging.js';
export * from './credentials.js';
export { tracing } from './middleware/tracing.js';
export * from './limits.js';
