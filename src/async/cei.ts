/**
 * CEI facts from the async fabric: one entry per fact under the diagnostics mailbox
 * (`/data/mailbox/diag/msgs/<n>`), with severity, topic, note, origin, beat and an optional
 * link to the subject cell. Message ids count up per runtime, so replays produce the same ids.
 */
import type { Cell } from '../kernel/cell/cell.js';
import type { Runtime } from '../kernel/runtime.js';

export type CeiSeverity = 'sev:fatal' | 'sev:crit' | 'sev:usage' | 'sev:warn' | 'sev:debug';

export interface CeiFact {
  sev: CeiSeverity;
  topic: string;
  note: string;
  origin: string;
  subject?: Cell;
}

/** The cell a path names, created (as dictionaries) where missing. */
export function ensurePath(rt: Runtime, path: string): Cell {
  let c = rt.root;
  for (const seg of path.split('/').filter(Boolean)) c = c.child(seg) ?? c.add(seg);
  return c;
}

/** Appends a fact to the diagnostics mailbox; returns its cell. */
export function emitCei(rt: Runtime, fact: CeiFact): Cell {
  const msgs = ensurePath(rt, '/data/mailbox/diag/msgs');
  const id = msgs.childrenRaw().length + 1; // never reused, deleted messages included
  return rt.build(msgs, id, undefined, (m) => {
    m.add('sev', { value: fact.sev });
    m.add('topic', { value: fact.topic });
    m.add('note', { value: fact.note });
    m.add('origin', { value: fact.origin });
    m.add('beat', { value: String(rt.beat) });
    if (fact.subject) m.add('subject', { link: fact.subject });
  });
}

/** Every fact in the mailbox, oldest first (for tools and tests). */
export function ceiFacts(rt: Runtime): { sev: string; topic: string; note: string; origin: string; beat: number; subject?: string }[] {
  const msgs = rt.find('/data/mailbox/diag/msgs');
  if (msgs === undefined) return [];
  return msgs.children().map((m) => {
    const link = m.child('subject');
    return {
      sev: m.child('sev')!.text!,
      topic: m.child('topic')!.text!,
      note: m.child('note')!.text!,
      origin: m.child('origin')!.text!,
      beat: Number(m.child('beat')!.text),
      ...(link ? { subject: link.resolve()?.path } : {}),
    };
  });
}
