/** The Episodic Enzyme Engine (docs/episodes.md). */
export { Episodes, type EpisodeStart, type EpisodeBudget, type EpisodeOptions, type ExecutorBackend, type ModuleSlice } from './engine.js';
export type { SliceContext, FunctionSlice, EpisodeProfile, AwaitOptions } from './context.js';
export { requireRW, accountIO, checkCancel, currentEpisode, type GuardContext } from './current.js';
export { snapshotReads, SNAPSHOT_MAX_CELLS, type Snapshot, type SnapNode } from './snapshot.js';
export type { SliceOutcome } from './slice-runner.js';
