import { expect } from 'vitest';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../src/internal.js';

export const code = (c: string) => expect.objectContaining({ code: c });

/** A runtime with a deterministic clock: beat n happens at (1e9 + n * 1e6) ns unless told. */
export function runtime(options: RuntimeOptions = {}): Runtime {
  let t = 1_000_000_000n;
  return createRuntime({ clock: () => (t += 1_000_000n), ...options });
}

/**
 * Resolves after the first beat whose commit leaves `done()` true (at once when it already is):
 * waiting on driven mode without polling. Driven mode must be taking beats (vitest's timeout
 * catches one that stopped).
 */
export function beatWhere(rt: Runtime, done: () => boolean): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve) => {
    const off = rt.onCommit(() => {
      if (!done()) return;
      off();
      resolve();
    });
  });
}

export const hex = (b: Uint8Array | undefined) => (b === undefined ? 'none' : Buffer.from(b).toString('hex'));

/** Texts of the messages in a mailbox: `topic|sev|note`. */
export function facts(rt: Runtime, mailbox = '/data/mailbox/diag'): string[] {
  return rt.mailboxes.messages(mailbox).map((m) => `${m.child('topic')?.text}|${m.child('sev')?.text}|${m.child('note')?.text ?? ''}`);
}
