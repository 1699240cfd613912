/**
 * A runtime backed by a store: the kernel runtime, rebuilt from the store at open (each branch
 * from its newest snapshot plus the deltas after it; the beat counter resumes after the last
 * committed beat), with the persistence service attached to its heartbeat. The kernel knows
 * nothing of this: the service plugs in through the commit and shutdown hooks.
 */
import { invalidArgType } from '../errors.js';
import { setBeat } from '../kernel/tree.js';
import { Runtime, type RuntimeOptions } from './runtime.js';
import type { RecoveryReport, StorageEngine } from '../persistence/engine.js';
import type { FlatfileOptions } from '../persistence/flatfile/index.js';
import { readAcross, type CrossReadOptions } from '../persistence/service/cross-read.js';
import { openEngine } from '../persistence/service/open-engine.js';
import { loadInLinkOrder, removedOnDisk } from '../persistence/service/recover.js';
import { PersistenceService, resolveServiceOptions, type ServiceOptions } from '../persistence/service/service.js';
import { PersistVerbs } from '../persistence/service/verbs.js';
import type { HydrateOptions, HydrateResult } from '../persistence/service/hydrate/hydrator.js';
import type { Cell } from '../kernel/cell/cell.js';
import type { EnzymeContext } from '../beat/heartbeat/context.js';

export interface StoreOptions extends ServiceOptions {
  /** Store directory (created when missing). */
  dir?: string;
  /** An engine already open (instead of the flatfile engine at `dir`). */
  engine?: StorageEngine;
  /** Options of the flatfile engine (`backend`, `reactor`, `verify`; docs/flatfile.md). */
  flatfile?: FlatfileOptions;
  /** How the flatfile engine writes: 'reactor' (default: syncs off the JS thread) or 'sync'. */
  io?: 'reactor' | 'sync';
  /**
   * Repair a damaged store (flatfile `repair`: every branch cut back to the beat before the
   * first damage, the cut bytes kept in `<dir>/quarantine/<n>/`) instead of refusing it with
   * ERR_STORE_CORRUPT. What was cut is `rt.recovery` and a `persist.recover` warning.
   */
  repair?: boolean;
}

export interface PersistentRuntimeOptions extends RuntimeOptions {
  store: StoreOptions;
}

export class PersistentRuntime extends Runtime {
  /** The persistence service: controllers, writer, engine. */
  readonly persist: PersistenceService;
  /** Persistence verbs as OPS dossiers (`op/br_flush`, `op/checkpt`, `op/sync`, ...). */
  readonly verbs: PersistVerbs;

  constructor(options: PersistentRuntimeOptions) {
    const store = options.store;
    if (store === null || typeof store !== 'object') throw invalidArgType('options.store', 'an object { dir } or { engine }', store);
    // every option is checked before the store is opened or created: a bad one changes nothing
    const resolved = resolveServiceOptions(store);
    super(options);
    const engine = store.engine ?? openEngine(store.dir, store.repair === true ? { ...store.flatfile, repair: true } : store.flatfile, store.io);
    try {
      this.persist = new PersistenceService(this.heartbeat, engine, resolved);
      this.verbs = new PersistVerbs(this.persist);
      this.recover();
    } catch (e) {
      if (store.engine === undefined) void engine.close();
      throw e;
    }
    this.persist.attach();
  }

  /** Rebuild every branch that is not lazy; resume the beat counter after the last committed beat. */
  private recover(): void {
    const engine = this.persist.engine;
    const report = engine.recovery;
    // a branch is rebuilt after the branches its links point into; a lazy one they need comes along
    const warm = engine.branches().filter((name) => !this.persist.controller(name).cold);
    const { order, pulled, frames, bytes } = loadInLinkOrder(this, engine, warm, {}, this.persist.aead, (name) => this.persist.controller(name).cold);
    for (const name of order) {
      const c = this.persist.controller(name);
      c.cold = false;
      c.root = this.find(`/data/${name}`);
      // removed (or soft-deleted) on disk: a branch added again under the name starts from a snapshot
      if (c.root === undefined) c.needsSnapshot = true;
    }
    for (const name of engine.branches()) {
      const c = this.persist.controller(name);
      if (!c.cold) continue;
      if (removedOnDisk(engine, name, this.persist.aead)) {
        c.cold = false; // nothing to load: the branch was removed
        c.needsSnapshot = true;
        continue;
      }
      // lazy: a cold stub of its root now, cells loaded on first access (hydrate/hydrator.ts)
      const stub = this.persist.hydrator.openBranch(name);
      if (stub !== undefined) {
        c.cold = false;
        c.root = stub;
      }
    }
    for (const name of pulled) this.cei({ severity: 'debug', topic: 'persist.recover', note: `${name}: loaded at open (lazy), a branch loaded at open links into it`, subject: `/data/${name}` });
    if (report.beat >= 0) setBeat(this, report.beat + 1);
    for (const note of recoveryNotes(report)) {
      // store-wide files (the journal, the CAS manifest: branch '') have no cell to name
      this.cei({ severity: 'warn', topic: 'persist.recover', note: note.text, ...(note.branch === '' ? {} : { subject: `/data/${note.branch}` }) });
    }
    if (report.beat >= 0) {
      this.cei({ severity: 'debug', topic: 'persist.recover', note: `recovered to beat ${report.beat}: ${frames} frame(s), ${bytes} bytes applied, ${report.scannedBytes} bytes verified` });
    }
    this.persist.publish(true);
  }

  /** What the store's recovery found and cut at open (the engine's report). */
  get recovery(): RecoveryReport {
    return this.persist.engine.recovery;
  }

  /** Last beat known to be on disk (-1: none). */
  get durableBeat(): number {
    return this.persist.durableBeat;
  }

  /** Wait until every committed beat is durable (rejects with ERR_PERSIST_COMMIT when one failed). */
  flush(): Promise<void> {
    return this.persist.flush();
  }

  /**
   * Shut down through `op/shdn` (its `ist:flush` stages the last frames), wait for them, close
   * the store, then what every runtime closes (`Runtime.close`). Rejects as `flush()` does when
   * a branch could not be made durable; the rest is closed all the same.
   */
  protected override async closeParts(): Promise<void> {
    try {
      await this.persist.close();
    } finally {
      await super.closeParts();
    }
  }

  /**
   * Load the cells of a lazy branch on the way to `path`, and the target itself (payload and
   * children), within budgets: `prefetch` 'payload' also loads its children's payloads,
   * 'children' its whole subtree; over `maxDepth` (levels below the target) or `maxBytes`
   * (payload bytes read) nothing is loaded (ERR_HYDRATE_BUDGET). Cold cells also load by
   * themselves on first access; this is the explicit, budgeted way.
   */
  hydrate(path: string, options?: HydrateOptions): HydrateResult {
    return this.persist.hydrator.hydrate(path, options);
  }

  /**
   * Turn the loaded subtree at `path` (inside a lazy branch) back into a cold stub, freeing its
   * memory; it loads again, identical, on the next access. Refused (ERR_HYDRATE_EVICT) unless
   * the branch is clean and durable: nothing written to it since it was indexed, nothing
   * pending. Returns the number of cells dropped.
   */
  evict(path: string): number {
    return this.persist.hydrator.evict(path, (branch, indexedAt) => {
      const c = this.persist.controller(branch);
      return !c.pending && c.lastFramed === indexedAt && c.durableBeat === indexedAt;
    });
  }

  /** A cross-branch read from an enzyme, checked against the consumer's policy (see cross-read.ts). */
  readAcross(ctx: EnzymeContext, consumer: string, path: string, options?: CrossReadOptions): Cell | undefined {
    return readAcross(this.persist, ctx, consumer, path, options);
  }
}

/**
 * One line per cut of a recovery report (the `persist.recover` warnings, `cep run`, `cep store
 * repair`): the file, the bytes, the first beat lost, why, and where a repair put the bytes.
 */
export function recoveryNotes(report: RecoveryReport): Array<{ branch: string; text: string }> {
  const kept = report.quarantine === undefined ? '' : `, kept in ${report.quarantine}`;
  return report.cut.map((cut) => ({
    branch: cut.branch,
    text: `${cut.file ?? (cut.branch === '' ? 'journal' : cut.branch)}: cut ${cut.bytes} bytes${cut.fromBeat >= 0 ? ` from beat ${cut.fromBeat}` : ''} (${cut.reason})${kept}`,
  }));
}
