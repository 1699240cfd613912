/**
 * Persistence verbs as OPS dossiers (`/rt/ops/<oid>`): each opens a dossier on `/data/<branch>`,
 * records its states, and closes it `sts:ok`, or `sts:fail` with a CEI fact attached. Branch verbs
 * (`op/br_flush`, `op/br_sched`, `op/br_defer`, `op/br_snapshot`) change the controller and take
 * effect at the next beat's Commit; store verbs (`op/checkpt`, `op/compact`, `op/sync`,
 * `op/import`) run on the engine in the writer's sequence, after the beats queued before them.
 */
import { invalidArgType, invalidArgValue, outOfRange } from '../../errors.js';
import type { BundleManifest } from '../engine.js';
import { loadInLinkOrder } from './recover.js';
import type { PersistenceService } from './service.js';
import { RESERVED_BRANCHES } from './service.js';

function branchName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 255 || name.includes('/')) throw invalidArgType('branch', 'a branch name (a child of /data)', name);
  if (RESERVED_BRANCHES.has(name)) throw invalidArgValue('branch', `/data/${name} is not a persisted branch`);
  return name;
}

export class PersistVerbs {
  constructor(private readonly svc: PersistenceService) {}

  /**
   * Run `work` as a dossier: it opens (with `states`), records what `work` reports, and closes
   * `sts:ok`, or `sts:fail` through a `topic` fact. Each step is posted as a recorded event and
   * written at the next beat's Compute (records.ts), never here between beats.
   */
  private async dossier<T>(verb: string, branch: string, topic: string, states: string[], work: (step: (state: string) => void) => Promise<T> | T, seal?: string): Promise<T> {
    const events = this.svc.events;
    const s = events.nextVerb();
    events.post({ k: 'open', s, verb, target: `/data/${branch}`, states, seal });
    let result: T;
    try {
      result = await work((v) => events.post({ k: 'state', s, v }));
    } catch (e) {
      // crit closes the dossier with sts:fail
      events.post({ k: 'fact', s, sev: 'crit', topic, note: `${verb} ${branch}: ${(e as Error)?.message ?? String(e)}`, subject: `/data/${branch}` });
      throw e;
    }
    events.post({ k: 'ok', s });
    this.svc.publish(false);
    return result;
  }

  /** `op/br_flush`: write the branch at the next beat's Commit, whatever its policy; resolves once durable. */
  flush(branch: string): Promise<number> {
    const name = branchName(branch);
    return this.dossier('op/br_flush', name, 'persist.flush.fail', ['ist:plan'], async (step) => {
      const c = this.svc.controller(name);
      c.force = true;
      c.stale = true;
      this.svc.hb.wake();
      const beat = await this.svc.whenFramed(name);
      step('ist:flush');
      await this.svc.flush();
      return beat;
    });
  }

  /** `op/br_sched`: scheduled policy, flushing at `beat` (and every `everyBeats` when given). */
  schedule(branch: string, beat: number, everyBeats?: number): Promise<void> {
    const name = branchName(branch);
    if (!Number.isSafeInteger(beat) || beat < 1) throw outOfRange('beat', 'an integer >= 1', beat);
    if (everyBeats !== undefined && (!Number.isSafeInteger(everyBeats) || everyBeats < 0)) throw outOfRange('everyBeats', 'an integer >= 0', everyBeats);
    return this.dossier('op/br_sched', name, 'persist.defer', ['ist:plan'], () => {
      const c = this.svc.controller(name);
      this.svc.setPolicy(name, { ...c.policy, mode: 'scheduled', flushScheduledBt: beat, flushEveryBeats: everyBeats ?? c.policy.flushEveryBeats });
      this.svc.report({ severity: 'debug', topic: 'persist.defer', note: `${name}: scheduled for beat ${beat}`, subject: `/data/${name}` });
    });
  }

  /** `op/br_defer`: on-demand policy (written only by `op/br_flush` or at shutdown). */
  defer(branch: string): Promise<void> {
    const name = branchName(branch);
    return this.dossier('op/br_defer', name, 'persist.defer', ['ist:plan'], () => {
      const c = this.svc.controller(name);
      this.svc.setPolicy(name, { ...c.policy, mode: 'on_demand', flushScheduledBt: 0 });
      this.svc.report({ severity: 'debug', topic: 'persist.defer', note: `${name}: deferred (on demand)`, subject: `/data/${name}` });
    });
  }

  /** `op/br_snapshot`: seal the branch (immutable), write it once more, then treat it as a read-only snapshot. */
  snapshot(branch: string): Promise<number> {
    const name = branchName(branch);
    const rt = this.svc.rt;
    const cell = rt.find(`/data/${name}`);
    // the seal is applied with the dossier's opening, inside the next beat, before its Commit frames the branch
    return this.dossier(
      'op/br_snapshot',
      name,
      'persist.snapshot',
      ['ist:plan'],
      async (step) => {
        if (cell === undefined) throw invalidArgValue('branch', `/data/${name} does not exist`);
        const c = this.svc.controller(name);
        c.root = cell;
        c.force = true;
        this.svc.hb.wake();
        const beat = await this.svc.whenFramed(name);
        step('ist:flush');
        await this.svc.flush();
        this.svc.setPolicy(name, { ...c.policy, mode: 'ro_snapshot' });
        this.svc.report({ severity: 'debug', topic: 'persist.snapshot', note: `${name}: sealed read-only at beat ${beat}`, subject: `/data/${name}` });
        return beat;
      },
      cell === undefined ? undefined : `/data/${name}`,
    );
  }

  /** `op/checkpt`: store a checkpoint of the branch as of its last durable frame. */
  checkpoint(branch: string): Promise<number> {
    const name = branchName(branch);
    return this.dossier('op/checkpt', name, 'persist.checkpoint', ['ist:plan', 'ist:write'], async () => {
      await this.svc.flush();
      return this.svc.checkpoint(name);
    });
  }

  /** `op/compact`: rewrite the branch's files, keeping replay possible from its checkpoints. */
  compact(branch: string): Promise<{ bytesBefore: number; bytesAfter: number }> {
    const name = branchName(branch);
    // rewriting the files moves what the lazy index points at: load the branch first
    return this.dossier('op/compact', name, 'persist.compact', ['ist:plan', 'ist:write'], () => {
      if (this.svc.hydrator.has(name)) {
        this.svc.hydrator.hydrate(`/data/${name}`, { prefetch: 'children' });
        this.svc.hydrator.forget(name);
      }
      return this.svc.writer.run(() => this.svc.engine.compact(name));
    });
  }

  /** `op/sync`: export a verified bundle of the branch (files, CAS blobs, manifest) into `dir`. */
  sync(branch: string, dir: string): Promise<BundleManifest> {
    const name = branchName(branch);
    if (typeof dir !== 'string' || dir.length === 0) throw invalidArgType('dir', 'a directory path', dir);
    return this.dossier('op/sync', name, 'persist.sync', ['ist:plan', 'ist:write'], async () => {
      await this.svc.flush();
      return this.svc.writer.run(() => this.svc.engine.exportBundle(name, dir));
    });
  }

  /**
   * `op/import`: verify the bundle in `dir`, promote it as `branch` (default: the bundle's own)
   * and load it into the runtime in place of what was there. A bad bundle changes nothing.
   */
  import(dir: string, branch?: string): Promise<BundleManifest> {
    if (typeof dir !== 'string' || dir.length === 0) throw invalidArgType('dir', 'a directory path', dir);
    const target = branch === undefined ? undefined : branchName(branch);
    return this.dossier('op/import', target ?? '-', 'persist.import', ['ist:plan', 'ist:verify'], async (step) => {
      await this.svc.flush();
      // the branch is not framed while its replacement is promoted (queued frames would chain to the old root)
      const held = target === undefined ? undefined : this.svc.controller(target);
      const wasCold = held?.cold ?? false;
      if (held !== undefined) held.cold = true;
      let manifest: BundleManifest;
      try {
        manifest = await this.svc.writer.run(() => this.svc.engine.importBundle(dir, target));
      } catch (e) {
        if (held !== undefined) held.cold = wasCold;
        throw e;
      }
      const name = target ?? manifest.branch;
      step('ist:promote');
      // the branch stays cold until the next beat replaces it from the store's frames
      this.svc.loadFromStore(name);
      this.svc.report({ severity: 'debug', topic: 'persist.import', note: `${name}: imported beat ${manifest.beat} (${manifest.files.length} files)`, subject: `/data/${name}` });
      return manifest;
    });
  }

  /**
   * Load a lazy branch whole within budgets (`maxDepth`: cells below its root; `maxBytes`:
   * payload bytes read, or frame bytes for a branch loaded frame by frame); nothing is loaded
   * when over budget (ERR_HYDRATE_BUDGET).
   */
  hydrate(branch: string, budget: { maxBytes?: number; maxDepth?: number } = {}): { frames: number; bytes: number } {
    const name = branchName(branch);
    const svc = this.svc;
    if (svc.hydrator.has(name)) {
      const r = svc.hydrator.hydrate(`/data/${name}`, { ...budget, prefetch: 'children' });
      if (r.parts > 0) svc.report({ severity: 'debug', topic: 'persist.recover', note: `${name}: hydrated ${r.parts} cell part(s), ${r.bytes} payload bytes`, subject: `/data/${name}` });
      return { frames: svc.hydrator.framesOf(name), bytes: r.bytes };
    }
    const c = svc.controller(name);
    if (!c.cold) return { frames: 0, bytes: 0 };
    // cold branches its links point into are hydrated with it (each within the budgets)
    const loaded = svc.hb.prr.grant(() => loadInLinkOrder(svc.rt, svc.engine, [name], budget, svc.aead, (b) => svc.controller(b).cold));
    for (const b of loaded.order) {
      const bc = svc.controller(b);
      bc.cold = false;
      bc.root = svc.rt.find(`/data/${b}`);
      bc.stale = true;
    }
    const also = loaded.pulled.length > 0 ? ` (with ${loaded.pulled.join(', ')}, which it links into)` : '';
    svc.report({ severity: 'debug', topic: 'persist.recover', note: `${name}: hydrated ${loaded.frames} frame(s), ${loaded.bytes} bytes${also}`, subject: `/data/${name}` });
    return { frames: loaded.frames, bytes: loaded.bytes };
  }
}
