/**
 * The trailing writer: beats framed at Commit wait here, in beat order, and go to the engine one
 * transaction each (beginBeat → putFrame* → commitBeat) while later beats compute. A beat is
 * durable once its commitBeat resolved and every earlier beat's did; a beat without frames is
 * durable as soon as every earlier one is. A failed beat is aborted and reported; the beats
 * queued behind it are dropped (their frames chained to the failed one) and reported with it, so
 * the service can start those branches over from snapshots.
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
}

export interface WriterEvents {
  /** `beat` and every beat before it are durable. */
  durable(beat: QueuedBeat): void;
  /** `failed` was aborted with `error`; `dropped` were queued behind it and never reached the engine. */
  failed(failed: QueuedBeat, dropped: QueuedBeat[], error: unknown): void;
}

export class BeatWriter {
  private readonly queue: QueuedBeat[] = [];
  private head = 0;
  private draining: Promise<void> | undefined;
  private waiters: Array<() => void> = [];
  /** Last beat known durable (-1: none). */
  durableBeat: number;
  /** Frames queued (not yet durable), for backpressure. */
  backlog = 0;
  /** Engine transactions committed by this writer. */
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
      if (last !== undefined && last.frames.length === 0 && last.task === undefined && this.queue.length - 1 > this.head) {
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
        if (item.frames.length > 0) {
          try {
            this.engine.beginBeat(item.beat);
            for (const f of item.frames) this.engine.putFrame(f.branch, f.bytes);
            await this.engine.commitBeat();
            this.commits++;
          } catch (e) {
            try {
              this.engine.abortBeat();
            } catch {
              // nothing open (beginBeat itself refused): nothing to abort
            }
            this.head++;
            this.backlog--;
            // beats behind it chained to it: drop them; tasks still run
            const rest = this.queue.slice(this.head);
            const dropped = rest.filter((x) => x.task === undefined);
            this.queue.length = 0;
            this.head = 0;
            for (const x of rest) if (x.task !== undefined) this.queue.push(x);
            this.backlog = 0;
            this.events.failed(item, dropped, e);
            this.wakeWaiters();
            continue;
          }
          this.backlog--;
        }
        this.head++;
        this.durableBeat = item.beat;
        this.events.durable(item);
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
