/**
 * The beat journal: `/rt/beat/<n>/` (stage, meta/unix_ts_ns, impulses, agenda, digest) and the
 * decision cells `/journal/decisions/<n>/<i>` (kind, value). Only the newest `keep` beats stay:
 * older entries are removed for good, so a long-running server's journal does not grow.
 */
import type { Cell, CellInit } from '../../kernel/cell/cell.js';
import type { Name } from '../../kernel/naming/name.js';
import type { Tree } from '../../kernel/tree.js';

const COMMIT = new TextEncoder().encode('commit');
/** Small fixed entries: an insertion-ordered list is the cheapest store to build and drop. */
const LIST: CellInit = { store: 'list', indexing: 'insertion' };

export class BeatJournal {
  private beats: Cell | undefined;
  private decisions: Cell | undefined;
  private readonly ring: Array<Cell | undefined>;
  private readonly decisionRing: Array<{ beat: number; dir: Cell } | undefined>;
  /** Names parsed once (word names: no namepool references held). */
  private readonly n: Record<'stage' | 'meta' | 'ts' | 'impulses' | 'agenda' | 'digest', Name>;
  private readonly tsBytes = new Uint8Array(8);
  private readonly tsView = new DataView(this.tsBytes.buffer);

  constructor(
    private readonly rt: Tree,
    /** Beats kept (0: no beat journal; decisions are then kept for one beat only). */
    readonly keep: number,
  ) {
    this.ring = new Array<Cell | undefined>(keep);
    this.decisionRing = new Array<{ beat: number; dir: Cell } | undefined>(Math.max(keep, 1));
    this.n = { stage: rt.name('stage'), meta: rt.name('meta'), ts: rt.name('unix_ts_ns'), impulses: rt.name('impulses'), agenda: rt.name('agenda'), digest: rt.name('digest') };
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
    const b = root.add(n, LIST);
    const names = this.n;
    b.add(names.stage, { value: COMMIT });
    this.tsView.setBigUint64(0, ts, true);
    b.add(names.meta, LIST).add(names.ts, { value: this.tsBytes }); // the VALUE is copied
    if (impulses !== null) b.add(names.impulses, { data: impulses, take: true });
    if (agenda !== null) b.add(names.agenda, { data: agenda, take: true });
    b.add(names.digest, { value: digest });
    this.ring[slot] = b;
  }
}
