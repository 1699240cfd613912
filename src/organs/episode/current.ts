/**
 * The execution context of the slice running on this thread, for guard helpers that have no
 * call-site state (the C reference keeps it in thread-local storage). The slot lives on
 * `globalThis` under a registry symbol, so a worker thread's slice runner and any copy of this
 * module (the user's own import of `cep`) see the same context.
 */

/** What the guard helpers need from a running slice. */
export interface GuardContext {
  requireRW(): boolean;
  accountIO(bytes: number): boolean;
  checkCancel(): boolean;
}

export const CONTEXT_SLOT = Symbol.for('cep.episode.context');

type Slot = { [CONTEXT_SLOT]?: GuardContext };

/** The context of the slice running now, or undefined outside slices. */
export function currentEpisode(): GuardContext | undefined {
  return (globalThis as Slot)[CONTEXT_SLOT];
}

/** Make `ctx` the current context; returns the one it replaces, for `leaveContext` (no closure: the engine's hot path). */
export function enterContext(ctx: GuardContext): GuardContext | undefined {
  const g = globalThis as Slot;
  const prev = g[CONTEXT_SLOT];
  g[CONTEXT_SLOT] = ctx;
  return prev;
}

/** Restore the context `enterContext` replaced. */
export function leaveContext(prev: GuardContext | undefined): void {
  (globalThis as Slot)[CONTEXT_SLOT] = prev;
}

/** Run `fn` with `ctx` as the current context (restored afterwards, also on throw). */
export function withContext<T>(ctx: GuardContext, fn: () => T): T {
  const prev = enterContext(ctx);
  try {
    return fn();
  } finally {
    leaveContext(prev);
  }
}

/**
 * Whether the running slice may mutate. In a read-only slice (or a hybrid one without its
 * lease) it records one `ep:pro/ro` usage fact and returns false; outside any slice, true.
 */
export function requireRW(): boolean {
  return currentEpisode()?.requireRW() ?? true;
}

/** Count `bytes` of I/O against the running slice's budget; false once it is overrun. */
export function accountIO(bytes: number): boolean {
  return currentEpisode()?.accountIO(bytes) ?? true;
}

/** Whether the running slice should stop (cancelled by ticket, by itself, or over budget). */
export function checkCancel(): boolean {
  return currentEpisode()?.checkCancel() ?? false;
}
