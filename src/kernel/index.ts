/** The kernel's surface for the layers above: the tree, names, namepool, paths, cells, stores. */
export { Tree, ROOT_LAYOUT, HISTORY_BEATS, setBeat, type TreeOptions, type WriteGuard } from './tree.js';
export { Cell, type CellInit, type NameInput, type TraverseOptions } from './cell/cell.js';
export { cloneInit } from './cell/clone.js';
export { addColdChild, coldToken, fillChildren, fillPayload, type ColdChild, type ColdLoader, type ColdPart, type ColdStore, type ColdVersion } from './cold.js';
export { type ProxyAdapter, payloadHash } from './cell/payload.js';
export { VALUE_MAX, VALUE_INLINE_DEFAULT } from './cell/flags.js';
export { LockToken, type LockKind } from './lock.js';
export { Namepool, REFERENCE_MAX_LENGTH } from './namepool.js';
export { Name, DOM_CEP, domainId, domainIndex } from './naming/name.js';
export {
  type Id,
  NAMING_WORD,
  NAMING_ACRONYM,
  NAMING_REFERENCE,
  NAMING_NUMERIC,
  WORD_MAX_CHARS,
  ACRONYM_MAX_CHARS,
  namingOf,
  idToBigInt,
  idFromBigInt,
  decodeWord,
  decodeAcronym,
  numericText,
  idHasGlobChar,
} from './naming/id.js';
export { encodeWordId, encodeAcronymId, encodeNumericId } from './naming/public.js';
export { parsePath, parsePattern, formatPath, globMatch, type PathSegment } from './path.js';
export { STORE_MATRIX, type StoreKind, type Indexing, type StoreOptions, type Point } from './store/index.js';
