/**
 * Cross-branch reads (docs/persistence.md). A durable or scheduled consumer that reads from a
 * source branch whose state may not survive a crash (volatile, or with changes not yet durable)
 * would let data that can vanish leak into data that cannot. Such a read is refused, unless the
 * consumer's policy sets `allowVolatileReads`: then it is recorded as a decision (replayed like
 * any other, `/journal/decisions`) and reported as a `cell.cross_read` CEI fact.
 */
import { invalidArgType, persistError } from '../../errors.js';
import type { Cell } from '../../kernel/cell/cell.js';
import type { EnzymeContext } from '../../beat/heartbeat/context.js';
import type { PersistenceService } from './service.js';

export interface CrossReadOptions {
  /** What the read is for (recorded with the decision; default 'read'). */
  verb?: string;
}

/** Why reading `source` now is risky, or null when it is not. */
export function crossReadRisk(svc: PersistenceService, source: string): 'volatile' | 'dirty' | null {
  const c = svc.controllers.get(source);
  if (c === undefined) return 'volatile'; // never written: nothing of it is on disk
  if (c.policy.mode === 'volatile') return 'volatile';
  if (c.pending || c.lastFramed > c.durableBeat) return 'dirty';
  return null;
}

/**
 * Read the cell at `path` (below `/data/<source>`) for enzyme `ctx` working on branch `consumer`.
 * Returns the cell (or undefined when absent); throws ERR_PERSIST_CROSS_READ when the policy
 * refuses the read.
 */
export function readAcross(svc: PersistenceService, ctx: EnzymeContext, consumer: string, path: string, options: CrossReadOptions = {}): Cell | undefined {
  if (typeof path !== 'string' || !path.startsWith('/data/')) throw invalidArgType('path', 'a path below /data', path);
  if (typeof consumer !== 'string' || consumer.length === 0) throw invalidArgType('consumer', 'a branch name', consumer);
  const source = path.slice(6).split('/')[0];
  const verb = options.verb ?? 'read';
  const rt = svc.rt;
  if (source === consumer) return rt.find(path);
  const policy = svc.controller(consumer).policy;
  const guarded = policy.mode === 'durable' || policy.mode === 'scheduled';
  const risk = guarded ? crossReadRisk(svc, source) : null;
  if (risk === null) return rt.find(path);
  const origin = { enzyme: ctx.enzyme, signal: ctx.signal, target: ctx.target ?? undefined };
  if (!policy.allowVolatileReads) {
    ctx.cei({
      severity: 'usage',
      topic: 'cell.cross_read',
      note: `${consumer} may not read ${risk} branch ${source} (${verb} ${path}); allowVolatileReads is off`,
      origin,
      subject: `/data/${consumer}`,
    });
    throw persistError('ERR_PERSIST_CROSS_READ', `branch ${consumer} (${policy.mode}) may not read ${risk} branch ${source}: set allowVolatileReads to allow it`);
  }
  // the decision is recorded (and replayed: a replay without it stops with ERR_REPLAY_MISMATCH)
  const decided = ctx.decide('cross_read', () => ({ beat: ctx.beat, verb, consumer, source, risk }));
  ctx.cei({ severity: 'warn', topic: 'cell.cross_read', note: `${consumer} read ${decided.risk} branch ${source} (${verb} ${path})`, origin, subject: `/data/${consumer}` });
  return rt.find(path);
}
