/**
 * The trailing writer: beats framed at Commit wait here, in beat order, and go to the engine
 * while later beats compute. Group commit: each engine transaction takes every beat waiting
 * when it starts (beginBeat → putFrame* per beat, then one commitBeat; at most
 * `GROUP_MAX_BEATS` beats or `GROUP_MAX_BYTES` of frames), so the beats that queued behind a
 * commit in flight share the next sync round. A beat is durable once its transaction's
 * commitBeat resolved and every earlier one did; a beat without frames is durable as soon as
 * every earlier one is. A failed transaction is aborted and reported with all its beats; the
 * beats queued behind it are dropped (their frames chained to the failed ones) and reported with
 * it, so the service can start those branches over from snapshots. A frame the engine refuses
 * on its own (`putFrame` throws: a branch it cannot keep) stays out of the transaction with its
 * branch's later frames in it; the others commit, and the beat reports it in `refused`.
 */
import type { StorageEngine } from '../engine.js';

export interface QueuedFrame {
  branch: string;
  bytes: Uint8Array;
  root: Uint8Array;
  /** Why it was framed (the service's bookkeeping; the writer ignores it). */
  cause: string;
}

export interface QueuedBeat {
  beat: number;
  frames: QueuedFrame[];
  /** Engine work that must not interleave with beat transactions (checkpoint, compact, bundles). */
  task?: () => Promise<void>;
  /** Branches whose frame the engine refused in this beat (`putFrame` threw), with the error; the beat's other frames went on. */
  refused?: Map<string, unknown>;
}

/** Most beats one engine transaction takes. */
export const GROUP_MAX_BEATS = 256;
/** Most frame bytes one engine transaction takes (a larger lone beat still goes alone). */
export const GROUP_MAX_BYTES = 8 * 1024 * 1024;

export interface WriterEvents {
  /** `beat` and every beat before it are durable (but for the frames in `beat.refused`). */
  durable(beat: QueuedBeat): void;
  /** `failed` was aborted with `error`; `dropped`: the rest of its transaction and the beats queued behind it. */
  failed(failed: QueuedBeat, dropped: QueuedBeat[], error: unknown): void;
}

/** Whether `putFrame` threw about that frame or its branch (not about the engine or the transaction). */
function refusesFrame(e: unknown): boolean {
  const code = (e as { code?: string })?.code;
  return code !== 'ERR_STORE_CLOSED' && code !== 'ERR_STORE_TXN' && code !== 'ERR_STORE_IO';
}

export class BeatWriter {
  private readonly queue: QueuedBeat[] = [];
  private head = 0;
  /** End (exclusive) of the queue entries in the engine transaction in flight. */
  private flightEnd = 0;
  private draining: Promise<void> | undefined;
  private waiters: Array<() => void> = [];
  /** Last beat known durable (-1: none). */
  durableBeat: number;
  /** Frames queued (not yet durable), for backpressure. */
  backlog = 0;
  /** Engine transactions committed by this writer (each may hold several beats). */
  commits = 0;

  constructor(
    private readonly engine: StorageEngine,
    private readonly events: WriterEvents,
    durableBeat: number,
  ) {
    this.durableBeat = durableBeat;
  }

  /** Queue a beat's frames (beats come in increasing order). */
  push(beat: number, frames: QueuedFrame[]): void {
    if (frames.length === 0) {
      if (this.idle) {
        this.durableBeat = beat;
        return;
      }
      // an empty beat after queued ones: the last queued entry, if empty too, just moves on
      const last = this.queue[this.queue.length - 1];
      if (last !== undefined && last.frames.length === 0 && last.task === undefined && this.queue.length - 1 >= Math.max(this.head + 1, this.flightEnd)) {
        last.beat = beat;
        return;
      }
    }
    this.queue.push({ beat, frames });
    this.backlog += frames.length > 0 ? 1 : 0;
    this.draining ??= this.drain();
  }

  /** Run `fn` once every beat queued before it is written (engine calls stay in one sequence). */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ beat: -1, frames: [], task: () => fn().then(resolve, reject) });
      this.draining ??= this.drain();
    });
  }

  /** Resolves at the next beat that becomes durable or fails (or at once when idle). */
  nextDurable(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wakeWaiters(): void {
    if (this.waiters.length === 0) return;
    const list = this.waiters;
    this.waiters = [];
    for (const w of list) w();
  }

  /** Nothing queued or in flight. */
  get idle(): boolean {
    return this.draining === undefined;
  }

  /** Beats queued or in flight. */
  get pendingBeats(): number {
    return this.queue.length - this.head;
  }

  /** Resolves once everything queued so far (and queued while waiting) has been written or failed. */
  async settle(): Promise<void> {
    while (this.draining !== undefined) await this.draining;
  }

  /** The beats from the head that the next transaction takes: up to the next task, within the bounds. */
  private takeGroup(): QueuedBeat[] {
    const group: QueuedBeat[] = [];
    let bytes = 0;
    for (let i = this.head; i < this.queue.length && group.length < GROUP_MAX_BEATS; i++) {
      const q = this.queue[i];
      if (q.task !== undefined) break;
      let size = 0;
      for (const f of q.frames) size += f.bytes.length;
      if (group.length > 0 && bytes + size > GROUP_MAX_BYTES) break;
      bytes += size;
      group.push(q);
    }
    return group;
  }

  private async drain(): Promise<void> {
    await null; // `draining` is assigned before any of this runs
    try {
      while (this.head < this.queue.length) {
        const item = this.queue[this.head];
        if (item.task !== undefined) {
          this.head++;
          await item.task();
          continue;
        }
        if (item.frames.length === 0) {
          this.head++;
          this.durableBeat = item.beat;
          this.events.durable(item);
          this.wakeWaiters();
          continue;
        }
        const group = this.takeGroup();
        this.flightEnd = this.head + group.length;
        const framed = group.filter((g) => g.frames.length > 0).length;
        try {
          // a frame the engine refuses stays out, with its branch's later frames of the group
          // (chained to it); the other branches' frames go on
          const refused = new Map<string, unknown>();
          for (const g of group) {
            if (g.frames.length === 0) continue;
            this.engine.beginBeat(g.beat);
            for (const f of g.frames) {
              const earlier = refused.get(f.branch);
              if (earlier !== undefined) {
                (g.refused ??= new Map()).set(f.branch, earlier);
                continue;
              }
              try {
                this.engine.putFrame(f.branch, f.bytes);
              } catch (e) {
                if (!refusesFrame(e)) throw e; // the engine itself cannot go on: the transaction fails
                refused.set(f.branch, e);
                (g.refused ??= new Map()).set(f.branch, e);
              }
            }
          }
          await this.engine.commitBeat();
          this.commits++;
        } catch (e) {
          try {
            this.engine.abortBeat();
          } catch {
            // nothing open (the first beginBeat itself refused): nothing to abort
          }
          // the rest of the group and the beats behind it chained to it: drop them; tasks still run
          const rest = this.queue.slice(this.head + 1);
          const dropped = rest.filter((x) => x.task === undefined);
          this.queue.length = 0;
          this.head = 0;
          this.flightEnd = 0;
          for (const x of rest) if (x.task !== undefined) this.queue.push(x);
          this.backlog = 0;
          this.events.failed(item, dropped, e);
          this.wakeWaiters();
          continue;
        }
        this.flightEnd = 0;
        this.backlog -= framed;
        for (const g of group) {
          this.head++;
          this.durableBeat = g.beat;
          this.events.durable(g);
        }
        this.wakeWaiters();
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue.splice(0, this.head);
          this.head = 0;
        }
      }
      this.queue.length = 0;
      this.head = 0;
    } finally {
      this.draining = undefined;
      this.wakeWaiters();
    }
  }
}
