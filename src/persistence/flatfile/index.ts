/** The flatfile storage engine (docs/flatfile.md). */
export { FlatfileEngine, openFlatfileStore, verifyFlatfileStore, type FlatfileOptions } from './store.js';
