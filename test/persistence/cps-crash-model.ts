/**
 * The crash test's model: what each beat writes to `/data/crash`, and the state the branch must
 * have after any beat. A function of the beat number only, so a child that resumes a store
 * continues the same sequence, and the parent can say what any recovered beat must hold.
 */
import type { Runtime } from '../../src/runtime/runtime.js';

/** Beat `beat`'s changes (run by the child's enzyme). */
export function applyModel(rt: Runtime, beat: number): void {
  const data = rt.find('/data')!;
  const b = data.child('crash') ?? data.add('crash');
  const slots = b.child('slots') ?? b.add('slots');
  const recent = b.child('recent') ?? b.add('recent');
  const j = 1 + (beat % 5);
  const s = slots.child(j);
  if (s === undefined) slots.add(j, { value: `v${beat}` });
  else s.set(`v${beat}`);
  if (beat % 3 === 0) {
    recent.add(beat, { value: 'x'.repeat(beat % 200) });
    recent.child(beat - 30)?.remove();
  }
}

/** The visible state after beat `last` (every beat from 1 ran): `slots/<j>` and `recent/<b>` texts. */
export function expectedState(last: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let b = Math.max(1, last - 4); b <= last; b++) out[`slots/${1 + (b % 5)}`] = `v${b}`;
  for (let b = 3; b <= last; b += 3) if (b + 30 > last) out[`recent/${b}`] = 'x'.repeat(b % 200);
  return out;
}

/** The same shape read from a runtime. */
export function actualState(rt: Runtime): Record<string, string> {
  const out: Record<string, string> = {};
  for (const group of ['slots', 'recent']) {
    const g = rt.find(`/data/crash/${group}`);
    if (g === undefined) continue;
    for (const c of g.children()) out[`${group}/${c.name}`] = c.text ?? '';
  }
  return out;
}
