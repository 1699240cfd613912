/**
 * The runner of module slices, as the runtime thread sees it: the codec (slice-codec.ts) runs a
 * slice function against a serialized input (snapshot, state, budget left, cancel flag) and
 * returns its serialized outcome. Worker threads (the threaded backend) run the same module
 * through slice-entry.ts; the runtime thread (the stub backend, and oversized inputs) through
 * `runModuleSlice`: both give the same outcome for the same input.
 */
import * as v8 from 'node:v8';
import { compiledModuleUrl } from '../../native/module-url.js';
import { binding, nativeInfo } from '../../native/index.js';
import * as codec from './slice-codec.js';
import type { SliceOutcome } from './slice-codec.js';

export type { SliceHead, SliceOutcome } from './slice-codec.js';

/**
 * A module episode's state between slices, as the runner encoded it (`v8.serialize`): the
 * runtime thread never decodes it, it only passes the bytes on to the next slice's input. The
 * object's identity stands for its bytes (run-ahead adoption compares states by identity).
 */
export class EncodedState {
  constructor(readonly bytes: Uint8Array) {}
}

/** A byte writer of the codec (snapshots are written straight from the cells with one). */
export const CodecWriter = codec.Writer;
export type CodecWriter = codec.Writer;
export const decodeSnapshot = codec.decodeSnapshot;

/** Run a module slice on this thread. */
export function runModuleSlice(mod: Record<string, unknown>, input: Uint8Array): Uint8Array {
  return codec.runSlice(mod, input, threadCpuMs);
}

// this thread's CPU clock, as the workers time their slices with theirs
const threadCpuMs = (): number => binding.threadCpuMs();

/** The fields of an episode's slice inputs that never change, encoded once. */
export function encodeHead(head: codec.SliceHead): Uint8Array {
  return codec.encodeHead(head);
}

/** A state as slices receive it (throws when it is not structured-clone-safe). */
export function encodeState(state: unknown): EncodedState {
  return state instanceof EncodedState ? state : new EncodedState(v8.serialize(state));
}

/** A module slice's input: equal arguments give equal bytes (run-ahead adoption relies on it). */
export function encodeInput(head: Uint8Array, beat: number, ioLeft: number, cancelled: boolean, snap: Uint8Array, state: EncodedState): Uint8Array {
  return codec.encodeInput(head, beat, ioLeft, cancelled, snap, state.bytes);
}

/** What a slice decided; its state stays encoded (`EncodedState`), for the next slice's input. */
export function decodeOutcome(bytes: Uint8Array): SliceOutcome {
  const out = codec.decodeOutcome(bytes) as unknown as SliceOutcome;
  out.state = new EncodedState(out.state as Uint8Array);
  return out;
}

const ENTRY = compiledModuleUrl('./slice-entry.js', import.meta.url);

/**
 * The URL of the worker module that runs slices of the module at `href` (slice-entry.ts, told
 * the module and the addon in its query). It times slices with the worker thread's own CPU
 * clock: the addon this process loaded (safe in worker threads), or the wall clock when the
 * fallback is in use, as on the runtime thread.
 */
export function workerModuleUrl(href: string): string {
  const url = new URL(ENTRY);
  url.searchParams.set('module', href);
  const addon = nativeInfo().path;
  if (addon !== undefined) url.searchParams.set('addon', addon);
  return url.href;
}
