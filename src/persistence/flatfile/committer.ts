/**
 * One sync round: the writes of a beat (or a checkpoint) and the fdatasync of every file that
 * must be durable, either through a reactor (every write, and linked write+sync for the durable
 * ones, submitted in one batch: io_uring or epoll's thread run them together) or with plain
 * synchronous fs calls. Either way the round resolves only once every byte is on disk, or
 * rejects with ERR_STORE_IO naming the first failure.
 */
import fs from 'node:fs';
import { storeError } from '../../errors.js';
import type { Reactor } from '../../async/reactor.js';
import { writeAllAt } from './files.js';

export interface WriteOp {
  fd: number;
  parts: Uint8Array[];
  position: number;
  /** fdatasync the file after the write (within the same round). */
  sync: boolean;
}

export interface Committer {
  readonly kind: string;
  /**
   * Runs the round. `during` is CPU work to do while the bytes travel (frame validation): the
   * reactor runs it after submitting and before waiting; synchronous fs runs it first, so a
   * throw writes nothing. A throw from it fails the round (once the I/O settled) with its error.
   */
  run(ops: WriteOp[], during?: () => void): Promise<void>;
}

export class SyncCommitter implements Committer {
  readonly kind = 'sync';
  run(ops: WriteOp[], during?: () => void): Promise<void> {
    try {
      during?.();
    } catch (e) {
      return Promise.reject(e);
    }
    try {
      for (const op of ops) writeAllAt(op.fd, op.parts, op.position);
      for (const op of ops) if (op.sync) fs.fdatasyncSync(op.fd);
    } catch (e) {
      return Promise.reject(storeError('ERR_STORE_IO', `a write or sync failed: ${(e as Error).message}`, e));
    }
    return Promise.resolve();
  }
}

/**
 * Writes through a reactor the engine drains itself: it must not be shared with another
 * consumer of `drain()` (the runtime's own reactor is not suitable; give the engine its own).
 */
export class ReactorCommitter implements Committer {
  constructor(readonly reactor: Reactor) {}

  get kind(): string {
    return `reactor:${this.reactor.backend}`;
  }

  async run(ops: WriteOp[], during?: () => void): Promise<void> {
    const r = this.reactor;
    const want = new Map<number, number>(); // seq -> bytes expected
    let failure: string | undefined;
    for (const op of ops) {
      const bytes = op.parts.reduce((n, p) => n + p.length, 0);
      const parts = op.parts.filter((p) => p.length > 0);
      if (parts.length === 0) continue;
      try {
        const seq = op.sync ? r.writeSync(op.fd, parts, { position: op.position, datasync: true }) : r.write(op.fd, parts, op.position);
        want.set(seq, bytes);
      } catch (e) {
        // refused (queue full, reactor closed): wait for what is already in flight before failing,
        // so nothing lands after the caller has cut its files back
        failure = (e as Error).message;
        break;
      }
    }
    // whenReady() hands the batch to the backend now (not at the end of this JS turn), so the
    // kernel is already writing while `during` runs
    let ready = r.whenReady();
    let thrown: unknown;
    try {
      if (failure === undefined) during?.();
    } catch (e) {
      thrown = e;
    }
    while (want.size > 0) {
      await ready;
      for (const c of r.drain()) {
        const bytes = want.get(c.seq);
        if (bytes === undefined) continue;
        want.delete(c.seq);
        if (failure === undefined && !c.ok) failure = `${c.op} failed with ${c.errno ?? c.result}`;
        else if (failure === undefined && c.result !== bytes) failure = `${c.op} moved ${c.result} of ${bytes} bytes`;
      }
      if (want.size > 0) ready = r.whenReady();
    }
    if (thrown !== undefined) throw thrown;
    if (failure !== undefined) throw storeError('ERR_STORE_IO', `a write or sync failed: ${failure}`);
  }
}
