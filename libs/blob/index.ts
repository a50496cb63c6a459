export { DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, toChunks, type ToChunksOptions } from './chunker.js';
export { checkedPieces } from './checked-pieces.js';
export { collectBlob, verifyAnnouncedChunks, verifyChunks, type VerifiedPieces, type VerifyOptions } from './assembler.js';
export { payload, StreamParts, type CaseValue, type OneofCase, type Selector } from './stream-parts.js';
export { peekHead, type Peeked } from './head.js';
export { BlobFolder, READ_PIECE_BYTES, type BlobEntry, type FolderPart, type WrittenBlob } from './folder.js';
