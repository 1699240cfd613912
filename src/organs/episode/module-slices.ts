/**
 * Module slices (docs/episodes.md: Scheduling): the loaded slice modules, and the executor
 * backends. A module slice is submitted at Commit with a snapshot of its reads and its outcome
 * applied at the start of the next beat's Compute, in submission order: the stub backend runs it
 * on the runtime thread at submission, the threaded backend on the worker threads of its module
 * (with run-ahead guesses, `run-ahead.ts`), or here when the workers cannot take it. The same
 * runner on the same input bytes gives the same outcome either way.
 */
import { invalidArgType, invalidState, notFound } from '../../errors.js';
import type { Tree } from '../../kernel/tree.js';
import { newOutcome } from './context.js';
import type { Episode, EpisodeModule, ModuleSlice } from './episode.js';
import { RunAhead, sliceInput } from './run-ahead.js';
import { decodeOutcome, runModuleSlice, type SliceOutcome } from './slice-runner.js';
import { encodeSnapshot } from './snapshot.js';
import { SlicePools, type SliceHandle, type ThreadedOptions } from './threaded.js';

/** A module slice submitted at Commit, applied at the next Compute. */
interface InFlight {
  ep: Episode;
  /** The outcome, when the slice ran on the runtime thread. */
  bytes?: Uint8Array;
  /** The slice, when it went to the worker threads. */
  handle?: SliceHandle;
}

/** A slice that fails without running (bad input, a worker that died). */
function failed(ep: Episode, error: string): SliceOutcome {
  return Object.assign(newOutcome(ep.state), { action: 'fail' as const, error });
}

export class ModuleSlices {
  private readonly modules = new Map<string, Record<string, unknown>>();
  /** The threaded backend's worker pools and guesses (undefined: the stub backend). */
  private readonly pools: SlicePools | undefined;
  private readonly ahead: RunAhead | undefined;
  private inFlight: InFlight[] = [];
  /** Module slices run on worker threads so far (the rest ran on the runtime thread). */
  offloaded = 0;

  /** `threaded`: the threaded backend's options; `finish` applies an outcome to its episode. */
  constructor(
    private readonly rt: Tree,
    threaded: ThreadedOptions | undefined,
    private readonly finish: (ep: Episode, out: SliceOutcome) => void,
  ) {
    if (threaded !== undefined) {
      this.pools = new SlicePools(threaded);
      this.ahead = new RunAhead(rt, this.pools);
    }
  }

  /** Of the slices run on worker threads, those whose run-ahead guess was adopted. */
  get ranAhead(): number {
    return this.ahead?.adopted ?? 0;
  }

  /** Import a slice module (once); with the threaded backend, start its workers. */
  async load(module: string | URL): Promise<void> {
    const href = this.href(module);
    if (!this.modules.has(href)) this.modules.set(href, (await import(href)) as Record<string, unknown>);
    await this.pools?.open(href);
  }

  /** The module slice a start names, checked: its module loaded, the function exported. */
  resolve(s: ModuleSlice): EpisodeModule {
    const href = this.href(s.module);
    const ns = this.modules.get(href);
    if (ns === undefined) throw invalidState(href, 'load the slice module first (await rt.episodes.load(module))');
    if (typeof ns[s.name] !== 'function') throw notFound(`slice function ${s.name} in ${href}`);
    return { href, name: s.name, ns, head: undefined };
  }

  private href(module: unknown): string {
    if (module instanceof URL) return module.href;
    if (typeof module === 'string' && module.length > 0) return module.includes(':') && !module.startsWith('/') ? module : new URL(`file://${module}`).href;
    throw invalidArgType('module', 'a path or URL', module);
  }

  /** Submit a module slice: to a worker (threaded) or run here (stub); applied at the next Compute. */
  submit(ep: Episode): void {
    const m = ep.module!;
    const beat = this.rt.beat;
    const ahead = this.ahead;
    let input: Uint8Array | undefined;
    let snap: Uint8Array;
    try {
      snap = encodeSnapshot(this.rt, ep.reads);
      // a guess known to hold this very input needs no second encoding to be compared with
      if (ahead === undefined || !ahead.holds(ep, beat, snap)) input = sliceInput(ep, beat, ep.state, ep.io, snap);
    } catch (e) {
      // a snapshot over its bound, a state that cannot be cloned: the episode fails, the beat goes on
      ahead?.drop(ep);
      return this.finish(ep, failed(ep, (e as Error)?.message ?? String(e)));
    }
    if (ahead === undefined) {
      this.inFlight.push({ ep, bytes: runModuleSlice(m.ns, input!) });
      return;
    }
    const real = input ?? ep.ahead[0]!.input!; // undefined: the guess holds it
    let handle = ahead.adopt(ep, beat, input);
    if (handle === undefined) {
      handle = this.pools!.submit(m.href, real, false, () => ahead.guessNext(ep));
      if (handle === undefined) {
        // the workers take no more (backlog full, input too large): it runs here, with the same outcome
        ep.sent = undefined;
        this.inFlight.push({ ep, bytes: runModuleSlice(m.ns, real) });
        return;
      }
    }
    this.offloaded++;
    ahead.sent(ep, beat, handle, snap);
    this.inFlight.push({ ep, handle });
    ahead.guessNext(ep); // an adopted guess may be back already
  }

  /** Compute: apply the outcomes of module slices submitted at the last Commit, in order. */
  compute(): void {
    if (this.inFlight.length === 0) return;
    const list = this.inFlight;
    this.inFlight = [];
    for (const f of list) {
      let out: SliceOutcome;
      if (f.bytes !== undefined) out = decodeOutcome(f.bytes);
      else {
        const r = f.handle!.result!;
        out = r.ok ? this.ahead!.outcomeOf(f.handle!) : failed(f.ep, r.error?.message ?? 'the worker failed');
      }
      this.finish(f.ep, out);
    }
  }

  /** An episode that ended: its guesses are dropped. */
  forget(ep: Episode): void {
    this.ahead?.forget(ep);
  }

  /** Whether outcomes wait for the next Compute. */
  get pending(): boolean {
    return this.inFlight.length > 0;
  }

  /** Whether the episode's slice is out (its outcome not applied yet). */
  isInFlight(ep: Episode): boolean {
    return this.inFlight.some((f) => f.ep === ep);
  }

  /** Whether no slice result is still out on a worker thread. */
  ready(): boolean {
    if (this.pools === undefined) return true;
    for (const f of this.inFlight) if (f.handle !== undefined && !this.pools.has(f.handle)) return false;
    return true;
  }

  whenReady(): Promise<void> {
    return this.ready() ? Promise.resolve() : this.pools!.progress();
  }

  /** Stop the worker threads (the threaded backend). */
  async close(): Promise<void> {
    await this.pools?.close();
  }
}
