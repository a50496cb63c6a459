export { DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, toChunks, type ToChunksOptions } from './chunker.js';
export { collectBlob, verifyAnnouncedChunks, verifyChunks, type VerifyOptions } from './assembler.js';
export { payload, StreamParts, type CaseValue, type OneofCase, type Selector } from './stream-parts.js';
export { peekHead, type Peeked } from './head.js';
