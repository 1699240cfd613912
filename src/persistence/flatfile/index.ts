/** The flatfile storage engine (docs/flatfile.md). */
export { FlatfileEngine, openFlatfileStore, type FlatfileOptions } from './store.js';
