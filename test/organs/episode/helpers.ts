import type { Runtime } from '../../../src/internal.js';
import type { RuntimeEnzymeContext as EnzymeContext } from '../../../src/internal.js';
export { beatWhere, code, facts, runtime } from '../../beat/helpers.js';

export const SLICES = new URL('./fixtures/slices.mjs', import.meta.url);

/** Every cell of a dossier as `relative/path=value` lines, in store order (what tooling sees). */
export function dump(rt: Runtime, eid: number): string[] {
  const d = rt.ops.dossier(eid);
  const out: string[] = [];
  const base = d.path.length;
  d.traverse((c) => {
    const v = c.value;
    out.push(`${c.path.slice(base)}=${v === undefined ? '' : Buffer.from(v).toString('hex')}`);
  });
  return out;
}

/** The dossier's history as `beat:value`. */
export function states(rt: Runtime, eid: number): string[] {
  return rt.ops.info(eid).history.map((h) => `${h.beat}:${h.value}`);
}

/** The dossier's `episode/slices` count (slices run, as last recorded). */
export function slices(rt: Runtime, eid: number): number {
  return Number(Buffer.from(rt.find(`/rt/ops/${eid}/episode/slices`)!.value!).readBigUInt64LE(0));
}

/** Topics of the facts in the diagnostics mailbox. */
export function topics(rt: Runtime): string[] {
  return rt.mailboxes.messages('/data/mailbox/diag').map((m) => m.child('topic')!.text!);
}

/**
 * An enzyme on `app/go` bound at `/data` that runs `run`: episodes started from an enzyme are part
 * of the beat, so a replay starts them too (enqueue `app/go` at `/data` to fire it).
 */
export function onGo(rt: Runtime, run: (ctx: EnzymeContext) => void): void {
  rt.registerEnzyme({ name: 'starter', signal: 'app/go', run });
  rt.bind('/data', 'starter');
}
