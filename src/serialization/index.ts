/** Flat frames: writer, reader, apply (docs/FORMAT.md, docs/api.md). */
export { encodeBranch, type EncodeOptions } from './writer.js';
export { readFrame, FrameReader, type Frame, type FrameCell, type FrameName, type FramePayload, type FrameRecordInfo, type ReadOptions } from './reader.js';
export { applyFrame, type ApplyOptions, type ApplyResult } from './apply.js';
export type { AeadCipher, AeadOptions } from './aead.js';
export { capsNames } from './caps.js';
export { deflateFrameAsync, inflateFrameAsync } from './container-jobs.js';
