/**
 * The crash tests' model: which branches a beat writes and what it puts in them, as a pure
 * function of the beat, so the parent can check a recovered store without talking to the child.
 */
export const CRASH_BRANCHES = ['a', 'b', 'c'];

/** Branches beat `beat` writes: all three, one (solo), or two. */
export function branchesOf(beat: number): string[] {
  const k = beat % 3;
  return k === 0 ? CRASH_BRANCHES : k === 1 ? ['a'] : ['b', 'c'];
}

/** The value cell `e<beat>` of `branch` holds at `beat` (sizes vary so writes of many sizes get torn). */
export function valueAtBeat(branch: string, beat: number): Uint8Array {
  const size = 16 + ((beat * 7919 + branch.charCodeAt(0) * 31) % 6) * 24_000;
  const v = new Uint8Array(size);
  for (let i = 0; i < size; i++) v[i] = (beat * 13 + i + branch.charCodeAt(0)) & 0xff;
  return v;
}
