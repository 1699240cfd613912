/**
 * HANDLE / STREAM proxies: every operation goes through the cell's adapter (a missing hook or a
 * throwing one is ERR_PROXY). Changes (`write`, `restore`) obey data locks and immutability,
 * and the first change in a beat records the state before it (the adapter's snapshot, when it
 * has one) in the cell's payload history, so `proxySnapshotAt` can read any past beat.
 */
import { invalidState, proxyFailed } from '../../errors.js';
import { resolveLive } from '../link.js';
import type { Cell } from './cell.js';
import { checkBeat, DETACHED, PAYLOAD_BITS, TYPE_LINK, TYPE_MASK, TYPE_PROXY } from './flags.js';
import type { ProxyAdapter } from './payload.js';

/** The proxy cell `c` stands for (through links) and its adapter, checked for `op`. */
function proxyOf(c: Cell, op: keyof ProxyAdapter): [Cell, ProxyAdapter] {
  const p = resolveLive(c);
  if ((p.flags & TYPE_MASK) !== TYPE_PROXY) throw invalidState(p.path, `${op} needs a HANDLE or STREAM cell`);
  const a = p.pv as ProxyAdapter;
  if (typeof a[op] !== 'function') throw proxyFailed(p.path, op);
  return [p, a];
}

/** Call one adapter hook on the proxy `c` stands for; adapter errors become ERR_PROXY. */
export function proxyCall<T>(c: Cell, op: keyof ProxyAdapter, call: (a: ProxyAdapter, p: Cell) => T): T {
  const [p, a] = proxyOf(c, op);
  try {
    return call(a, p);
  } catch (e) {
    throw proxyFailed(p.path, op, e);
  }
}

/** A changing hook (`write`, `restore`): checks mutability, records history once per beat. */
export function proxyChange<T>(c: Cell, op: 'write' | 'restore', call: (a: ProxyAdapter, p: Cell) => T): T {
  const [p, a] = proxyOf(c, op);
  p.assertDataMutable();
  const rt = p.runtime;
  const record = p.mod !== rt.beat;
  const before = record && typeof a.snapshot === 'function' ? proxyCall(p, 'snapshot', (x, q) => x.snapshot!(q)).slice() : undefined;
  const result = proxyCall(p, op, call);
  if (record) {
    p.hist = rt.history.push(p.mod, p.flags & PAYLOAD_BITS, before, p.hist);
    p.mod = rt.beat;
  }
  if (rt.touched !== null) rt.touched.push(p);
  else if (rt.changedBetweenBeats !== null) rt.changedBetweenBeats(p);
  return result;
}

/**
 * The proxy's state as of the end of `beat`: the current snapshot when nothing changed it since,
 * else the snapshot recorded before the next change; undefined when the adapter keeps no
 * snapshots or the cell did not exist then.
 */
export function proxySnapshotAt(c: Cell, beat: number): Uint8Array | undefined {
  checkBeat(beat, c.runtime.beat);
  const p = (c.flags & TYPE_MASK) === TYPE_LINK ? c.targetAt(beat) : c;
  if (p === undefined || (p.flags & DETACHED) !== 0) return undefined;
  if ((p.flags & TYPE_MASK) !== TYPE_PROXY) throw invalidState(p.path, 'snapshotAt needs a HANDLE or STREAM cell');
  if (p.up !== null && !(p.created <= beat && (p.deleted < 0 || p.deleted > beat))) return undefined;
  if (p.mod <= beat) return typeof (p.pv as ProxyAdapter).snapshot === 'function' ? proxyCall(p, 'snapshot', (a, q) => a.snapshot!(q)) : undefined;
  const h = p.runtime.history;
  for (let e = p.hist; e >= 0; e = h.prev[e]) if (h.beat[e] <= beat) return (h.pv[e] as Uint8Array | undefined)?.slice();
  return undefined;
}
