import { describe, expect, it } from 'vitest';
import { flushCause, resolvePolicy } from '../../src/persistence/service/policy.js';

describe('branch policies', () => {
  it('fills in defaults and refuses bad fields with coded errors', () => {
    expect(resolvePolicy(undefined)).toEqual({ mode: 'durable', flushEveryBeats: 0, flushScheduledBt: 0, flushOnShutdown: true, allowVolatileReads: false, lazy: false });
    expect(resolvePolicy('volatile').flushOnShutdown).toBe(false);
    expect(resolvePolicy({ mode: 'scheduled', flushEveryBeats: 8 }).flushEveryBeats).toBe(8);
    expect(() => resolvePolicy({ mode: 'sometimes' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => resolvePolicy({ flushEveryBeats: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => resolvePolicy({ flushEveryBeats: 1.5 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => resolvePolicy({ lazy: 'yes' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => resolvePolicy(7 as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });

  it('durable writes every beat with changes, and nothing without', () => {
    const p = resolvePolicy('durable');
    expect(flushCause(p, 5, true, false, 4)).toBe('durable');
    expect(flushCause(p, 5, false, false, 4)).toBeNull();
  });

  it('scheduled honours the explicit beat first, then the interval', () => {
    const p = resolvePolicy({ mode: 'scheduled', flushEveryBeats: 10, flushScheduledBt: 7 });
    expect(flushCause(p, 6, true, false, 0)).toBeNull();
    expect(flushCause(p, 7, true, false, 0)).toBe('schedule');
    const q = resolvePolicy({ mode: 'scheduled', flushEveryBeats: 10 });
    expect(flushCause(q, 9, true, false, 0)).toBeNull();
    expect(flushCause(q, 10, true, false, 0)).toBe('interval');
    expect(flushCause(q, 25, true, false, 15)).toBe('interval');
    expect(flushCause(q, 24, true, false, 15)).toBeNull();
    // 0 and 1 disable recurrence
    expect(flushCause(resolvePolicy({ mode: 'scheduled', flushEveryBeats: 1 }), 100, true, false, 0)).toBeNull();
  });

  it('on-demand waits for a forced flush; volatile and read-only snapshots never write', () => {
    const od = resolvePolicy('on_demand');
    expect(flushCause(od, 9, true, false, 3)).toBeNull();
    expect(flushCause(od, 9, true, true, 3)).toBe('force');
    // forced with nothing new: nothing to write, unless the branch was never written
    expect(flushCause(od, 9, false, true, 3)).toBeNull();
    expect(flushCause(od, 9, false, true, -1)).toBe('force');
    expect(flushCause(resolvePolicy('volatile'), 9, true, true, 3)).toBeNull();
    expect(flushCause(resolvePolicy('ro_snapshot'), 9, true, true, 3)).toBeNull();
  });
});
