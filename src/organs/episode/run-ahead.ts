/**
 * Run-ahead (threaded backend; docs/episodes.md: Scheduling). When a module slice's outcome
 * comes back as a plain yield, the episode's next input is guessed (the same snapshot, the state
 * the slice left, the next beat, the I/O budget left after it) and handed to the workers as a
 * low-priority guess, so their idle time at the beat barrier is used. At the next Commit a guess
 * whose input is the very same bytes as the real one is adopted (the runner is a function of its
 * input, so its outcome is the outcome the real slice would have had); any other is dropped and
 * the slice submitted as usual. A guess changes nothing until it is adopted.
 */
import { bytesEqual } from '../../kernel/cell/payload.js';
import type { Tree } from '../../kernel/tree.js';
import { ioLeft } from './budget.js';
import type { Episode } from './episode.js';
import { decodeOutcome, encodeHead, encodeInput, encodeState, type SliceOutcome } from './slice-runner.js';
import type { SliceHandle, SlicePools } from './threaded.js';

/** Guesses an episode may have out at once, and beats without guesses after a wrong one. */
const AHEAD_SLICES = 2;
const AHEAD_BACKOFF = 16;

/**
 * A module slice's input (one shape for submitted slices and guesses: equal inputs are equal
 * bytes): the episode's head, encoded once, and its state, encoded once (throws when the
 * state is not structured-clone-safe); a slice's state comes back encoded and stays so.
 */
export function sliceInput(ep: Episode, beat: number, state: unknown, io: number, snap: Uint8Array): Uint8Array {
  const m = ep.module!;
  m.head ??= encodeHead({ name: m.name, eid: ep.eid, ticket: ep.ticket, signal: ep.signal, target: ep.target });
  const encoded = encodeState(state);
  if (state === ep.state) ep.state = encoded;
  return encodeInput(m.head, beat, ioLeft(ep, io), ep.cancel, snap, encoded);
}

export class RunAhead {
  /** Worker outcomes decoded so far (`outcomeOf`). */
  private readonly decoded = new WeakMap<SliceHandle, SliceOutcome>();
  /** Slices whose guess was adopted (they ran before their beat's Commit). */
  adopted = 0;

  constructor(
    private readonly rt: Tree,
    private readonly pools: SlicePools,
  ) {}

  /**
   * A worker slice's decoded outcome, decoded once: the guess made from it and the Compute that
   * applies it share one object, so a guess's state is the episode's state by identity.
   */
  outcomeOf(h: SliceHandle): SliceOutcome {
    let out = this.decoded.get(h);
    if (out === undefined) this.decoded.set(h, (out = decodeOutcome(h.result!.value!)));
    return out;
  }

  /**
   * Whether a guess at this beat holds the real input of `ep`'s slice, known without encoding
   * it: the same encoded state object (an outcome's, never changed here), I/O count and snapshot
   * bytes, and not cancelled (a guess is never made for a cancelled episode). The other fields
   * are fixed per episode. Otherwise the input is encoded and compared byte for byte (`adopt`).
   */
  holds(ep: Episode, beat: number, snap: Uint8Array): boolean {
    const guess = ep.ahead[0];
    return guess !== undefined && guess.beat === beat && guess.state === ep.state && guess.io === ep.io && !ep.cancel && guess.read !== undefined && bytesEqual(guess.read, snap);
  }

  /**
   * At Commit: the handle of the guess that ran on this very input (`input`, or undefined when
   * `holds` said so), which counts as submitted now; otherwise undefined, with the episode's
   * guesses dropped (and, after a wrong one, none made for a while).
   */
  adopt(ep: Episode, beat: number, input: Uint8Array | undefined): SliceHandle | undefined {
    const guess = ep.ahead[0];
    if (guess !== undefined && guess.beat === beat && (input === undefined || bytesEqual(guess.input!, input)) && this.pools.adopt(ep.module!.href, guess.handle)) {
      ep.ahead.shift();
      guess.input = undefined;
      guess.read = undefined;
      guess.state = undefined;
      this.adopted++;
      return guess.handle;
    }
    if (guess !== undefined) ep.aheadOff = beat + AHEAD_BACKOFF;
    this.drop(ep);
    return undefined;
  }

  /** A slice submitted (or adopted) at this beat's Commit: the base of the first guess, unless a guess made from the adopted one is out already. */
  sent(ep: Episode, beat: number, handle: SliceHandle, snap: Uint8Array): void {
    ep.sent = { beat, handle, input: undefined, snap: ep.ahead.length > 0 ? undefined : snap, io: ep.io, read: undefined, state: undefined };
  }

  /**
   * Once the episode's newest slice out (submitted or guessed) is back as a plain yield, guess
   * its next input and hand it to the workers; called again as each guess comes back.
   */
  guessNext(ep: Episode): void {
    const last = ep.ahead.length > 0 ? ep.ahead[ep.ahead.length - 1] : ep.sent;
    if (last === undefined || last.snap === undefined || ep.done || ep.cancel || ep.ahead.length >= AHEAD_SLICES || this.rt.beat < ep.aheadOff) return;
    const r = last.handle.result;
    if (r === undefined) return; // called again when it is back
    const snap = last.snap;
    last.snap = undefined; // one guess is made from a slice
    const out = r.ok ? this.outcomeOf(last.handle) : undefined;
    if (out === undefined || out.action !== 'yield' || out.over || out.cancel) {
      if (last === ep.sent) ep.sent = undefined; // no next slice to guess: hold nothing
      return;
    }
    const io = last.io + out.io;
    let bytes: Uint8Array;
    try {
      bytes = sliceInput(ep, last.beat + 1, out.state, io, snap);
    } catch {
      return; // the real submission meets the same error and reports it
    }
    const handle = this.pools.submit(ep.module!.href, bytes, true, () => this.guessNext(ep));
    if (handle === undefined) return;
    ep.ahead.push({ beat: last.beat + 1, handle, input: bytes, snap, io, read: snap, state: out.state });
  }

  /** Drop the episode's guesses (it ends, or its next input is not what was guessed). */
  drop(ep: Episode): void {
    for (const g of ep.ahead) {
      this.pools.drop(ep.module!.href, g.handle);
      g.read = undefined;
      g.state = undefined;
    }
    ep.ahead.length = 0;
  }

  /** An episode that ended: nothing of it stays out. */
  forget(ep: Episode): void {
    if (ep.ahead.length > 0) this.drop(ep);
    ep.sent = undefined;
  }
}
