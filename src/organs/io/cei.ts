/**
 * Small helpers of the async fabric over the kernel: creating its fixed paths, and reading the
 * CEI facts it reports (through `rt.cei`) back from the diagnostics mailbox, for tools and tests.
 */
import type { Cell } from '../../kernel/cell/cell.js';
import { DIAG_MAILBOX } from '../../beat/cei/cei.js';
import type { Tree } from '../../kernel/tree.js';

/** The cell a path names, created (as dictionaries) where missing. */
export function ensurePath(rt: Tree, path: string): Cell {
  let c = rt.root;
  for (const seg of path.split('/').filter(Boolean)) c = c.child(seg) ?? c.add(seg);
  return c;
}

/** Every fact in the diagnostics mailbox, oldest first. */
export function ceiFacts(rt: Tree): { sev: string; topic: string; note: string; origin?: string; beat: number; subject?: string }[] {
  const msgs = rt.find(`${DIAG_MAILBOX}/msgs`);
  if (msgs === undefined) return [];
  return msgs.children().map((m) => {
    const link = m.child('subject');
    return {
      sev: m.child('sev')!.text!,
      topic: m.child('topic')!.text!,
      note: m.child('note')?.text ?? '',
      origin: m.child('origin')?.child('enzyme')?.text,
      beat: Number(m.child('beat')!.text),
      ...(link ? { subject: link.resolve()?.path } : {}),
    };
  });
}
