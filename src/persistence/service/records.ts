/**
 * Recorded persistence events. What the persistence service learns outside a beat (a verb
 * called between beats, an engine task that finished, the writer's completions) must not touch
 * the tree there: a replay would not see it. Such events wait here; the next beat's Capture hands
 * them over as one `op/persist/ev` impulse (outside input, so the heartbeat records it), and the
 * `op/persist` enzyme applies them at Compute, in the order they happened: dossiers opened,
 * states, facts, closes, seals. A replay (`createRuntime({ replay })`, which registers the
 * enzyme) gets the same impulses from the recording and writes the same cells without a store.
 */
import type { CeiSeverity } from '../../beat/cei/cei.js';
import type { EnzymeContext } from '../../beat/heartbeat/context.js';
import type { Heartbeat } from '../../beat/heartbeat/heartbeat.js';
import type { AeadOptions } from '../../serialization/aead.js';
import { writeView, type BranchView } from './controller.js';
import { applyFrames } from './recover.js';

export const PERSIST_ENZYME = 'op/persist';
export const SIG_PERSIST_EV = 'op/persist/ev';

/** A verb's dossier opens (`seal`: the verb seals its branch in the same beat). */
export interface OpenEvent {
  k: 'open';
  /** The verb's sequence number in this runtime (names the dossier until its oid exists). */
  s: number;
  verb: string;
  target: string;
  states: string[];
  seal?: string;
}
/** A verb's dossier records a state. */
export interface StateEvent {
  k: 'state';
  s: number;
  v: string;
}
/** A verb's dossier closes `sts:ok` (after `ist:ok`). */
export interface DoneEvent {
  k: 'ok';
  s: number;
}
/** A CEI fact; with `s`, attached to that verb's dossier (crit closes it `sts:fail`). */
export interface FactEvent {
  k: 'fact';
  s?: number;
  sev: CeiSeverity;
  topic: string;
  note: string;
  subject?: string;
}
/** `/data/persist/<b>` shows `v` (the service's view, timings included). */
export interface ViewEvent {
  k: 'view';
  b: string;
  v: BranchView;
}
/** `/data/<b>` is replaced by these frames (base64, oldest first): an imported branch. */
export interface LoadEvent {
  k: 'load';
  b: string;
  f: string[];
}
export type PersistEvent = OpenEvent | StateEvent | DoneEvent | FactEvent | ViewEvent | LoadEvent;

/** What the live service adds to the enzyme: the frames' AEAD key, and word of a loaded branch. */
export interface PersistEventHooks {
  aead?: AeadOptions;
  loaded?: (branch: string) => void;
}

/**
 * Register the `op/persist` enzyme on `rt`: it applies recorded events. Dossier oids are kept
 * by verb sequence number while the dossier is open (bounded by the verbs in flight). Returns
 * the function that applies one event (the live service uses it once the runtime has halted).
 */
export function registerPersistEvents(hb: Heartbeat, hooks: PersistEventHooks = {}): (e: PersistEvent) => void {
  const rt = hb.rt;
  const oids = new Map<number, number>();
  const apply = (e: PersistEvent): void => {
    switch (e.k) {
      case 'open': {
        if (e.seal !== undefined) rt.find(e.seal)?.seal();
        const oid = hb.ops.start(e.verb, { target: e.target });
        oids.set(e.s, oid);
        for (const st of e.states) hb.ops.state(oid, st);
        break;
      }
      case 'state': {
        const oid = oids.get(e.s);
        if (oid !== undefined && hb.ops.isOpen(oid)) hb.ops.state(oid, e.v);
        break;
      }
      case 'ok': {
        const oid = oids.get(e.s);
        oids.delete(e.s);
        if (oid !== undefined && hb.ops.isOpen(oid)) {
          hb.ops.state(oid, 'ist:ok');
          hb.ops.close(oid, 'sts:ok');
        }
        break;
      }
      case 'fact': {
        const oid = e.s === undefined ? undefined : oids.get(e.s);
        hb.report({ severity: e.sev, topic: e.topic, note: e.note, subject: e.subject, dossier: oid });
        if (oid !== undefined && !hb.ops.isOpen(oid)) oids.delete(e.s!);
        break;
      }
      case 'view':
        writeView(rt, e.b, e.v);
        break;
      case 'load': {
        const frames = e.f.map((b64) => ({ bytes: new Uint8Array(Buffer.from(b64, 'base64')) }));
        rt.find(`/data/${e.b}`)?.removeHard();
        applyFrames(rt, e.b, frames, hooks.aead);
        hooks.loaded?.(e.b);
        break;
      }
      default:
        break;
    }
  };
  hb.registerEnzyme({
    name: PERSIST_ENZYME,
    signal: SIG_PERSIST_EV,
    run(ctx: EnzymeContext) {
      for (const e of (ctx.payload as unknown as { e: PersistEvent[] }).e) {
        try {
          apply(e);
        } catch (err) {
          // one event that cannot be applied (a load the runtime refuses) does not drop the others;
          // a refused load leaves the branch cold: in the store, not in memory
          hb.report({ severity: 'crit', topic: 'persist.event', note: `op/persist ${e.k}${'b' in e ? ` ${e.b}` : ''}: ${(err as Error)?.message ?? String(err)}`, origin: { enzyme: PERSIST_ENZYME } });
        }
      }
    },
  });
  return apply;
}

/** Events waiting for the next beat (live runtimes only). */
export class PersistEvents {
  private pending: PersistEvent[] = [];
  private seq = 0;
  private readonly unhook: () => void;

  constructor(
    private readonly hb: Heartbeat,
    private readonly apply: (e: PersistEvent) => void,
  ) {
    this.unhook = hb.onCapture(() => this.capture());
  }

  /** The next verb sequence number. */
  nextVerb(): number {
    return ++this.seq;
  }

  /**
   * Queue an event for the next beat and wake driven mode (a view waits for a beat that runs
   * anyway). Once the runtime has halted no beat will record it: it is applied at once (the
   * store's last word, after the last recorded beat).
   */
  post(e: PersistEvent): void {
    const hb = this.hb;
    if (hb.isHalted) {
      hb.prr.grant(() => this.apply(e));
      return;
    }
    this.pending.push(e);
    if (e.k !== 'view') hb.wake();
  }

  /** Capture: everything posted since the last beat, in order, as one recorded impulse. */
  private capture(): void {
    if (this.pending.length === 0) return;
    const e = this.pending;
    this.pending = [];
    this.hb.enqueue(SIG_PERSIST_EV, null, { e } as unknown as Record<string, number>);
  }

  close(): void {
    this.unhook();
  }
}
