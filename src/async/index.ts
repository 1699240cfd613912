/** Async I/O: the reactor, the executors, the worker pool. */
export { Reactor, createReactor, type ReactorOptions, type ReactorStats, type IoCompletion, type SocketAddress, type SubmitOptions } from './reactor.js';
export { probeBackends, availableBackends, selectBackend, REACTOR_CHOICES, type ReactorBackend, type ReactorChoice } from './select.js';
export { CompletionGate, type GateOrder } from './gate.js';
export type { FaultStep, OpName, JobKind, JobStatus, DeflateFormat, JobCipher } from '../native/ops.js';
export { Executor, createExecutor, type ExecutorOptions, type JobOptions, type JobResult } from './executor.js';
export { WorkerPool, createWorkerPool, type WorkerPoolOptions, type TaskResult } from './worker-pool.js';
