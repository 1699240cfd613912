/**
 * Staged writes (docs/episodes.md: Staging): `streamWrite` stages bytes during a slice; the
 * commit edge (the end of Commit's episode phase) publishes those of episodes still running or
 * closed `sts:ok`, under the episode's lease. A write the kernel refuses (a cell locked by
 * someone else, a proxy without `write`) never breaks the beat: it is dropped with an `ep:stage`
 * fact, and an episode still running fails with it.
 */
import type { Cell } from '../../kernel/cell/cell.js';
import type { Tree } from '../../kernel/tree.js';
import type { StagedWrite } from './context.js';
import type { Dossiers } from './dossier.js';
import type { Episode } from './episode.js';

/** One staged write: through the adapter of a STREAM cell, else over the payload from `offset` (growing it). */
function applyStaged(c: Cell, w: StagedWrite): void {
  if (c.type === 'proxy') {
    c.write(w.offset, w.bytes);
    return;
  }
  const cur = c.value ?? new Uint8Array(0);
  const next = new Uint8Array(Math.max(cur.length, w.offset + w.bytes.length));
  next.set(cur);
  next.set(w.bytes, w.offset);
  c.set(next);
}

export class Staging {
  private staged: Array<{ ep: Episode; w: StagedWrite }> = [];

  /** `fail` ends an episode whose staged write was refused (`ist:fail`, `sts:fail`). */
  constructor(
    private readonly rt: Tree,
    private readonly dossiers: Dossiers,
    private readonly fail: (ep: Episode) => void,
  ) {}

  stage(ep: Episode, w: StagedWrite): void {
    this.staged.push({ ep, w });
  }

  /** Whether writes wait for the commit edge. */
  get pending(): boolean {
    return this.staged.length > 0;
  }

  /** The commit edge: publish the staged writes, in the order they were staged. */
  publish(): void {
    const list = this.staged;
    this.staged = [];
    for (const { ep, w } of list) {
      if (ep.cancel || (ep.done && this.dossiers.status(ep) !== 'sts:ok')) continue;
      const c = this.rt.find(w.path);
      if (c === undefined) {
        this.dossiers.fact(ep, 'usage', 'ep:stage', `episode ${ep.eid}: staged write to ${w.path}, which does not exist; dropped`);
        continue;
      }
      try {
        const l = ep.lease;
        if (l !== undefined && !l.store.released) l.store.run(() => l.data.run(() => applyStaged(c, w)));
        else applyStaged(c, w); // the lease ended with the episode (closed in the same slice)
      } catch (e) {
        if ((e as { code?: string })?.code === 'ERR_REPLAY_MISMATCH') throw e;
        this.dossiers.fact(ep, 'usage', 'ep:stage', `episode ${ep.eid}: staged write to ${w.path} refused (${(e as Error)?.message ?? String(e)}); dropped`);
        if (!ep.done) this.fail(ep);
      }
    }
  }
}
