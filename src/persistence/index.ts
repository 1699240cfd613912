/** Persistence: the engine contract and the persistence service (docs/persistence.md). */
export * from './engine.js';
export { PersistenceService, RESERVED_BRANCHES, type ServiceOptions } from './service/service.js';
export { PersistVerbs } from './service/verbs.js';
export { BranchController } from './service/controller.js';
export { resolvePolicy, flushCause, POLICY_MODES, type BranchPolicy, type PolicyMode, type ResolvedPolicy, type FlushCause } from './service/policy.js';
export { crossReadRisk, type CrossReadOptions } from './service/cross-read.js';
export type { LoadBudget } from './service/recover.js';
export { Hydrator, type HydrateBudget, type HydrateOptions, type HydrateResult } from './service/hydrate/hydrator.js';
