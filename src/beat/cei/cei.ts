/**
 * CEI facts (Common Error Interface): a fact is a mailbox message with severity, topic, note,
 * origin and an optional subject link. Severity paths:
 *   debug, warn, usage  recorded (and signalled when asked);
 *   crit                also closes the attached OPS dossier with `sts:fail`;
 *   fatal               also closes the dossier and shuts the runtime down through `op/shdn`
 *                       (at the end of the running beat, or at once outside a beat).
 */
import { invalidArgType, invalidArgValue } from '../../errors.js';
import { Cell } from '../../kernel/cell/cell.js';
import type { Tree } from '../../kernel/tree.js';
import type { Mailboxes } from './mailbox.js';
import type { Ops } from '../ops/ops.js';
import { u64le } from '../heartbeat/encode.js';

export type CeiSeverity = 'fatal' | 'crit' | 'usage' | 'warn' | 'debug';
const SEVERITIES: ReadonlySet<string> = new Set(['fatal', 'crit', 'usage', 'warn', 'debug']);

/** The pipeline block carried by origins (all optional). */
export interface PipelineBlock {
  pipelineId?: string;
  stageId?: string;
  dagRunId?: string;
  hopIndex?: number;
}

export interface CeiOrigin {
  enzyme?: string;
  signal?: string;
  target?: string;
  pipeline?: PipelineBlock;
}

export interface CeiFact {
  severity: CeiSeverity;
  /** Searchable topic (`control/prr`, `enzyme/fatal`, `cell/op_add`, ...). */
  topic: string;
  note?: string;
  origin?: CeiOrigin;
  /** The cell the fact is about (a link is stored when it exists). */
  subject?: string | Cell;
  /** Mailbox path (default `/data/mailbox/diag`). */
  mailbox?: string;
  /** Also enqueue `sig_cei/<severity>` (target: the fact's path) for the next beat. */
  signal?: boolean;
  /** OPS dossier the fact is attached to (crit and fatal close it with `sts:fail`). */
  dossier?: number;
  /** A cell holding the fact's payload (stored as a link). */
  payload?: Cell;
}

export const DIAG_MAILBOX = '/data/mailbox/diag';

/** What CEI needs from the heartbeat. */
export interface CeiHost {
  emitControl(signal: string, target: string): void;
  shutdown(): void;
  /** The current beat's wall-clock time (Unix ns). */
  now(): bigint;
}

function optText(v: unknown, name: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > 4096) throw invalidArgType(name, 'a string (at most 4096 characters)', v);
  return v;
}

export class Cei {
  /** Facts recorded so far. */
  count = 0;

  constructor(
    private readonly rt: Tree,
    private readonly mailboxes: Mailboxes,
    private readonly ops: Ops,
    private readonly host: CeiHost,
  ) {}

  /** Record a fact; returns its message cell. Bad facts are refused before anything changes. */
  emit(fact: CeiFact): Cell {
    if (fact === null || typeof fact !== 'object') throw invalidArgType('fact', 'an object', fact);
    const sev = fact.severity;
    if (!SEVERITIES.has(sev)) throw invalidArgValue('fact.severity', `must be fatal, crit, usage, warn or debug (got ${String(sev)})`);
    if (typeof fact.topic !== 'string' || fact.topic.length === 0 || fact.topic.length > 256) throw invalidArgType('fact.topic', 'a non-empty string (at most 256 characters)', fact.topic);
    const note = optText(fact.note, 'fact.note');
    const o = fact.origin;
    if (o !== undefined && (o === null || typeof o !== 'object')) throw invalidArgType('fact.origin', 'an object', o);
    const origin: Array<[string, string]> = [];
    if (o !== undefined) {
      for (const k of ['enzyme', 'signal', 'target'] as const) {
        const v = optText(o[k], `fact.origin.${k}`);
        if (v !== undefined) origin.push([k, v]);
      }
    }
    const pipe: Array<[string, string]> = [];
    const pb = o?.pipeline;
    if (pb !== undefined) {
      if (pb === null || typeof pb !== 'object') throw invalidArgType('fact.origin.pipeline', 'an object', pb);
      for (const [k, key] of [
        ['pipelineId', 'pipeline_id'],
        ['stageId', 'stage_id'],
        ['dagRunId', 'dag_run_id'],
      ] as const) {
        const v = optText(pb[k], `fact.origin.pipeline.${k}`);
        if (v !== undefined) pipe.push([key, v]);
      }
      if (pb.hopIndex !== undefined) {
        if (!Number.isSafeInteger(pb.hopIndex) || pb.hopIndex < 0) throw invalidArgType('fact.origin.pipeline.hopIndex', 'an integer >= 0', pb.hopIndex);
        pipe.push(['hop_index', String(pb.hopIndex)]);
      }
    }
    let subject: Cell | undefined;
    let subjectPath: string | undefined;
    if (fact.subject instanceof Cell) {
      if (fact.subject.runtime !== this.rt) throw invalidArgType('fact.subject', 'a cell of this runtime', fact.subject);
      subject = fact.subject.isDeleted || fact.subject.isFinalized ? undefined : fact.subject;
      subjectPath = fact.subject.isFinalized ? undefined : fact.subject.path;
    } else if (fact.subject !== undefined) {
      subjectPath = optText(fact.subject, 'fact.subject');
      subject = subjectPath!.startsWith('/') ? this.rt.find(subjectPath!) : undefined;
    }
    const mailbox = fact.mailbox ?? DIAG_MAILBOX;
    if (typeof mailbox !== 'string' || !mailbox.startsWith('/') || mailbox === '/') throw invalidArgType('fact.mailbox', 'an absolute path below /', mailbox);
    if (fact.dossier !== undefined) this.ops.dossier(fact.dossier); // must exist
    const payload = fact.payload;
    if (payload !== undefined && (!(payload instanceof Cell) || payload.runtime !== this.rt || payload.isDeleted || payload.isFinalized))
      throw invalidArgType('fact.payload', 'a live cell of this runtime', payload);
    const rt = this.rt;
    const msg = this.mailboxes.post(mailbox, {}, (m) => {
      m.add('sev', { value: `sev:${sev}` });
      m.add('topic', { value: fact.topic });
      if (note !== undefined) m.add('note', { value: note });
      if (origin.length > 0 || pipe.length > 0) {
        const oc = m.add('origin');
        for (const [k, v] of origin) oc.add(k, { value: v });
        if (pipe.length > 0) {
          const pc = oc.add('pipeline');
          for (const [k, v] of pipe) pc.add(k, { value: v });
        }
      }
      if (subject !== undefined) m.add('subject', { link: subject });
      else if (subjectPath !== undefined) m.add('subject_path', { value: subjectPath });
      if (payload !== undefined) m.add('payload', { link: payload });
      m.add('beat', { value: String(rt.beat) });
      m.add('unix_ts_ns', { value: u64le(this.host.now()) });
    });
    this.count++;
    if (fact.signal === true) this.host.emitControl(`sig_cei/${sev}`, msg.path);
    if ((sev === 'crit' || sev === 'fatal') && fact.dossier !== undefined && this.ops.isOpen(fact.dossier)) this.ops.close(fact.dossier, 'sts:fail');
    if (sev === 'fatal') this.host.shutdown();
    return msg;
  }
}
