/**
 * The beat journal: `/rt/beat/<n>/` (stage, meta/unix_ts_ns, impulses, agenda, digest) and the
 * decision cells `/journal/decisions/<n>/<i>` (kind, value). Only the newest `keep` beats stay:
 * older entries are removed for good, so a long-running server's journal does not grow.
 */
import type { Cell } from '../cell/cell.js';
import type { Runtime } from '../runtime.js';
import { u64le } from './encode.js';

export class BeatJournal {
  private beats: Cell | undefined;
  private decisions: Cell | undefined;
  private readonly ring: Array<Cell | undefined>;
  private readonly decisionRing: Array<{ beat: number; dir: Cell } | undefined>;

  constructor(
    private readonly rt: Runtime,
    /** Beats kept (0: no beat journal; decisions are then kept for one beat only). */
    readonly keep: number,
  ) {
    this.ring = new Array<Cell | undefined>(keep);
    this.decisionRing = new Array<{ beat: number; dir: Cell } | undefined>(Math.max(keep, 1));
  }

  private dir(parent: string, name: string): Cell {
    const p = this.rt.find(parent)!;
    return p.child(name) ?? p.add(name);
  }

  /** Record one decision of beat `n` (during the beat: it is part of the beat's changes). */
  decision(n: number, index: number, kind: string, value: string): void {
    const root = (this.decisions ??= this.dir('/journal', 'decisions'));
    const slot = n % this.decisionRing.length;
    let entry = this.decisionRing[slot];
    if (entry === undefined || entry.beat !== n) {
      if (entry !== undefined && !entry.dir.isFinalized) entry.dir.removeHard();
      entry = { beat: n, dir: root.add(n) };
      this.decisionRing[slot] = entry;
    }
    const c = entry.dir.add(index + 1);
    c.add('kind', { value: kind });
    c.add('value', { value });
  }

  /** Write `/rt/beat/<n>/` and drop the entry that falls out of the window. */
  beat(n: number, ts: bigint, impulses: Uint8Array | null, agenda: Uint8Array | null, digest: Uint8Array): void {
    if (this.keep === 0) return;
    const root = (this.beats ??= this.dir('/rt', 'beat'));
    const slot = n % this.keep;
    const old = this.ring[slot];
    if (old !== undefined && !old.isFinalized) old.removeHard();
    const b = root.add(n);
    b.add('stage', { value: 'commit' });
    b.add('meta').add('unix_ts_ns', { value: u64le(ts) });
    if (impulses !== null) b.add('impulses', { data: impulses, take: true });
    if (agenda !== null) b.add('agenda', { data: agenda, take: true });
    b.add('digest', { value: digest });
    this.ring[slot] = b;
  }
}
