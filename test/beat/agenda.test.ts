import { describe, expect, it } from 'vitest';
import { signalMatches, type EnzymeDescriptor, type Runtime } from '../../src/internal.js';
import { code, facts, runtime } from './helpers.js';

/** Register enzymes that log their names, returning the log. */
function loggers(rt: Runtime, list: Array<Partial<EnzymeDescriptor> & { name: string; signal: string }>): string[] {
  const log: string[] = [];
  for (const d of list) rt.registerEnzyme({ ...d, run: () => void log.push(d.name) });
  return log;
}

describe('signal matching', () => {
  it('exact, segment prefix and glob', () => {
    expect(signalMatches('exact', 'a/b', 'a/b')).toBe(true);
    expect(signalMatches('exact', 'a/b', 'a/bc')).toBe(false);
    expect(signalMatches('prefix', 'a', 'a/b/c')).toBe(true);
    expect(signalMatches('prefix', 'a', 'a')).toBe(true);
    expect(signalMatches('prefix', 'a', 'ab/c')).toBe(false);
    expect(signalMatches('glob', 'sig_cell/op_*', 'sig_cell/op_add')).toBe(true);
    expect(signalMatches('glob', 'sig_cell/op_*', 'sig_cell/x')).toBe(false);
    expect(signalMatches('glob', 'a/**/z', 'a/b/c/z')).toBe(true);
    expect(signalMatches('glob', 'a/**/z', 'a/z')).toBe(true);
    expect(signalMatches('glob', 'a/*', 'a/b/c')).toBe(false);
  });
});

describe('agenda ordering', () => {
  it('orders by specificity: deeper binding, then exact > glob > prefix, then longer pattern, then registration', () => {
    const rt = runtime();
    const log = loggers(rt, [
      { name: 'root-prefix', signal: 'app', match: 'prefix' },
      { name: 'root-exact', signal: 'app/x/y' },
      { name: 'root-glob', signal: 'app/*/y', match: 'glob' },
      { name: 'root-prefix-long', signal: 'app/x', match: 'prefix' },
      { name: 'deep-prefix', signal: 'app', match: 'prefix' },
    ]);
    for (const n of ['root-prefix', 'root-exact', 'root-glob', 'root-prefix-long']) rt.bind('/data', n, { propagate: true });
    rt.bind('/data/a/b', 'deep-prefix');
    rt.enqueue('app/x/y', '/data/a/b');
    rt.step();
    expect(log).toEqual(['deep-prefix', 'root-exact', 'root-glob', 'root-prefix-long', 'root-prefix']);
  });

  it('before/after dependencies override specificity (topological, ties in specificity order)', () => {
    const rt = runtime();
    const log = loggers(rt, [
      { name: 'a', signal: 's' },
      { name: 'b', signal: 's', before: ['a'] },
      { name: 'c', signal: 's', after: ['d'] },
      { name: 'd', signal: 's', match: 'prefix' },
      { name: 'e', signal: 's', after: ['not-on-this-agenda'] },
    ]);
    for (const n of ['a', 'b', 'c', 'd', 'e']) rt.bind('/', n, { propagate: true });
    rt.enqueue('s', '/data');
    rt.step();
    // specificity: a b c e (exact, registration order), d (prefix); b before a; c waits for d
    expect(log).toEqual(['b', 'a', 'e', 'd', 'c']);
  });

  it('a dependency cycle is a sev:usage fact and falls back to a deterministic order', () => {
    const rt = runtime();
    const log = loggers(rt, [
      { name: 'x', signal: 's', after: ['z'] },
      { name: 'y', signal: 's', after: ['x'] },
      { name: 'z', signal: 's', after: ['y'] },
      { name: 'free', signal: 's', match: 'prefix' },
    ]);
    for (const n of ['x', 'y', 'z', 'free']) rt.bind('/data', n, { propagate: true });
    rt.enqueue('s', '/data/q');
    rt.enqueue('s', '/data/q');
    rt.step();
    expect(log).toEqual(['free', 'x', 'y', 'z', 'free', 'x', 'y', 'z']);
    const f = facts(rt);
    expect(f.length).toBe(1); // once per agenda per beat
    expect(f[0]).toMatch(/^enzyme\/cycle\|sev:usage\|dependency cycle among x, y, z/);
  });
});

describe('bindings', () => {
  it('propagate: descendants inherit; without it only the bound path runs', () => {
    const rt = runtime();
    const log = loggers(rt, [
      { name: 'inherit', signal: 's' },
      { name: 'here-only', signal: 's' },
    ]);
    rt.bind('/data', 'inherit', { propagate: true });
    rt.bind('/data', 'here-only');
    for (const t of ['/data', '/data/a', '/data/a/b', '/tmp']) {
      rt.enqueue('s', t);
      rt.step();
      log.push('|');
    }
    expect(log.join(' ')).toBe('inherit here-only | inherit | inherit | |');
  });

  it('tombstones mask inherited bindings for the subtree; a rebind below restores', () => {
    const rt = runtime();
    const log = loggers(rt, [{ name: 'e', signal: 's' }]);
    rt.bind('/data', 'e', { propagate: true });
    rt.unbind('/data/quiet', 'e');
    rt.bind('/data/quiet/loud', 'e', { propagate: true });
    for (const t of ['/data/x', '/data/quiet', '/data/quiet/deep', '/data/quiet/loud/z']) {
      rt.enqueue('s', t, t);
      rt.step();
    }
    expect(log).toEqual(['e', 'e']);
    expect(rt.heartbeat.registry.bindingsAt('/data/quiet')).toEqual([{ name: 'e', propagate: true, tombstone: true }]);
  });

  it('signal-only impulses (target null) reach every enzyme whose signal matches', () => {
    const rt = runtime();
    const log = loggers(rt, [
      { name: 'p', signal: 'cfg', match: 'prefix' },
      { name: 'q', signal: 'cfg/reload' },
      { name: 'r', signal: 'other' },
    ]);
    rt.enqueue('cfg/reload', null);
    rt.step();
    expect(log).toEqual(['q', 'p']);
  });
});

describe('registration', () => {
  it('is idempotent; a different descriptor under the same name is refused', () => {
    const rt = runtime();
    const run = () => {};
    rt.registerEnzyme({ name: 'e', signal: 's', run });
    rt.registerEnzyme({ name: 'e', signal: 's', run });
    rt.bind('/data', 'e');
    rt.bind('/data', 'e');
    expect(rt.heartbeat.registry.size).toBe(1);
    expect(rt.heartbeat.registry.bindingsAt('/data').length).toBe(1);
    expect(() => rt.registerEnzyme({ name: 'e', signal: 't', run })).toThrow(code('ERR_ENZYME_CONFLICT'));
    expect(() => rt.registerEnzyme({ name: 'e', signal: 's', run: () => {} })).toThrow(code('ERR_ENZYME_CONFLICT'));
    expect(rt.heartbeat.registry.size).toBe(1);
  });

  it('registrations and bindings made during a beat activate at the next beat', () => {
    const rt = runtime();
    const log: string[] = [];
    rt.registerEnzyme({
      name: 'installer',
      signal: 's',
      run(ctx) {
        log.push(`installer@${ctx.beat}`);
        ctx.rt.registerEnzyme({ name: 'late', signal: 's', run: (c) => void log.push(`late@${c.beat}`) });
        ctx.rt.bind('/data', 'late');
      },
    });
    rt.bind('/data', 'installer');
    rt.enqueue('s', '/data');
    rt.enqueue('s', '/data'); // same beat: late is not active yet
    rt.step();
    expect(log).toEqual(['installer@1', 'installer@1']);
    expect(rt.heartbeat.registry.activeSize).toBe(1);
    expect(rt.heartbeat.registry.size).toBe(2);
    rt.enqueue('s', '/data');
    rt.step();
    expect(log.slice(2)).toEqual(['installer@2', 'late@2']);
    expect(rt.heartbeat.registry.size).toBe(2); // re-registering the same descriptor never grows it
  });
});
