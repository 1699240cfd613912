/**
 * Mailboxes: `<mailbox>/msgs/<id>` plus `<mailbox>/meta/policy`. Message ids are the caller's
 * when given, else derived from the envelope's digest when one is given and free, else the
 * mailbox's next counter value: all deterministic. Each message gets a TTL in
 * beats and one in wall-clock time, each from the most specific scope that sets it (message,
 * then mailbox policy, then the runtime's topology default); the winning scopes and deadlines
 * are written to `msgs/<id>/meta`. Retention at each commit removes expired messages for good.
 */
import { invalidArgType, nameExists, outOfRange } from '../../errors.js';
import { blake3 } from '../../hash/blake3.js';
import type { Cell } from '../../kernel/cell/cell.js';
import type { Tree } from '../../kernel/tree.js';
import { u64le } from '../heartbeat/encode.js';

/** TTLs at one scope: beats, and/or wall-clock milliseconds. */
export interface MailboxTtl {
  ttlBeats?: number;
  ttlMs?: number;
}

export interface PostOptions extends MailboxTtl {
  /** The message id (a name); default: from `envelope`, else the mailbox's next counter value. */
  id?: string | number;
  /** Envelope bytes: without `id`, the message id is `env-` + 16 hex digits of their BLAKE3. */
  envelope?: Uint8Array | string;
}

type Scope = 'message' | 'mailbox' | 'topology' | 'none';

interface Expiry {
  at: number | bigint;
  msg: Cell;
}

export function checkTtl(t: unknown, what: string): MailboxTtl {
  if (t === undefined) return {};
  if (t === null || typeof t !== 'object') throw invalidArgType(what, 'an object', t);
  const { ttlBeats, ttlMs } = t as MailboxTtl;
  if (ttlBeats !== undefined && (!Number.isSafeInteger(ttlBeats) || ttlBeats < 1)) throw outOfRange(`${what}.ttlBeats`, 'an integer >= 1', ttlBeats);
  if (ttlMs !== undefined && (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0)) throw outOfRange(`${what}.ttlMs`, 'a number > 0', ttlMs);
  return { ttlBeats, ttlMs };
}

/** Insert keeping `list` sorted by `at` (after equal keys: posting order). */
function insertSorted(list: Expiry[], e: Expiry): void {
  let lo = 0;
  let hi = list.length;
  if (hi > 0 && list[hi - 1].at <= e.at) lo = hi;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid].at <= e.at) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, e);
}

export class Mailboxes {
  private readonly policies = new Map<string, MailboxTtl>();
  private readonly byBeat: Expiry[] = [];
  private readonly byTime: Expiry[] = [];

  constructor(
    private readonly rt: Tree,
    /** The current beat's wall-clock time (Unix ns). */
    private readonly now: () => bigint,
    private readonly topology: MailboxTtl = {},
  ) {}

  private ensure(path: string): Cell {
    let c = this.rt.root;
    for (const seg of path.split('/').slice(1)) c = c.child(seg) ?? c.add(seg);
    return c;
  }

  /** Open (create if needed) the mailbox at `path`; `policy` sets its TTLs. */
  open(path: string, policy?: MailboxTtl): Cell {
    if (typeof path !== 'string' || !path.startsWith('/') || path === '/') throw invalidArgType('mailbox', 'an absolute path below /', path);
    const p = checkTtl(policy, 'policy');
    const box = this.ensure(path);
    if (box.child('msgs') === undefined) box.add('msgs');
    if (policy !== undefined) {
      const meta = box.child('meta') ?? box.add('meta');
      const pol = meta.child('policy') ?? meta.add('policy');
      for (const [k, v] of [
        ['ttl_beats', p.ttlBeats],
        ['ttl_ms', p.ttlMs],
      ] as const) {
        const old = pol.child(k);
        if (v === undefined) old?.remove();
        else if (old === undefined) pol.add(k, { value: String(v) });
        else old.set(String(v));
      }
      this.policies.set(path, p);
    }
    return box;
  }

  /** Post a message: `fill(msg)` writes its fields. Returns the message cell. */
  post(path: string, options: PostOptions, fill: (msg: Cell) => void): Cell {
    const ttl = checkTtl(options, 'options');
    const id = options.id;
    if (id !== undefined && typeof id !== 'string' && typeof id !== 'number') throw invalidArgType('options.id', 'a name or a positive integer', id);
    const env = options.envelope;
    if (env !== undefined && typeof env !== 'string' && !(env instanceof Uint8Array)) throw invalidArgType('options.envelope', 'a Uint8Array or a string', env);
    const box = this.rt.find(path) ?? this.open(path);
    const msgs = box.child('msgs') ?? box.add('msgs');
    if (id !== undefined && msgs.child(id) !== undefined) throw nameExists(String(id), msgs.path);
    let name: string | number | null = id ?? null;
    if (name === null && env !== undefined) {
      const d = Buffer.from(blake3(env, { length: 8 })).toString('hex');
      if (msgs.child(`env-${d}`) === undefined) name = `env-${d}`; // taken: fall back to the counter
    }
    const pol = this.policies.get(path) ?? {};
    const [beats, bScope] =
      ttl.ttlBeats !== undefined
        ? [ttl.ttlBeats, 'message']
        : pol.ttlBeats !== undefined
          ? [pol.ttlBeats, 'mailbox']
          : this.topology.ttlBeats !== undefined
            ? [this.topology.ttlBeats, 'topology']
            : [undefined, 'none'];
    const [ms, tScope] =
      ttl.ttlMs !== undefined ? [ttl.ttlMs, 'message'] : pol.ttlMs !== undefined ? [pol.ttlMs, 'mailbox'] : this.topology.ttlMs !== undefined ? [this.topology.ttlMs, 'topology'] : [undefined, 'none'];
    const rt = this.rt;
    return rt.build(msgs, name, undefined, (msg) => {
      fill(msg);
      const meta = msg.child('meta') ?? msg.add('meta');
      meta.add('posted_bt', { value: u64le(BigInt(rt.beat)) });
      meta.add('ttl_scope_bt', { value: bScope as Scope });
      meta.add('ttl_scope_ns', { value: tScope as Scope });
      if (beats !== undefined) {
        const at = rt.beat + beats;
        meta.add('expires_bt', { value: u64le(BigInt(at)) });
        insertSorted(this.byBeat, { at, msg });
      }
      if (ms !== undefined) {
        const at = this.now() + BigInt(Math.round(ms * 1e6));
        meta.add('expires_ns', { value: u64le(at) });
        insertSorted(this.byTime, { at, msg });
      }
    });
  }

  /** Messages still held in `path`, in id order. */
  messages(path: string): Cell[] {
    return this.rt.find(path)?.child('msgs')?.children() ?? [];
  }

  /** Remove messages whose beat deadline is `beat` or earlier or whose time deadline is `ts` or earlier. */
  retain(beat: number, ts: bigint): number {
    let removed = 0;
    const drop = (list: Expiry[], due: (e: Expiry) => boolean) => {
      let k = 0;
      while (k < list.length && due(list[k])) {
        const m = list[k++].msg;
        if (!m.isFinalized && !m.isDeleted) {
          try {
            m.removeHard();
          } catch {
            m.remove(); // a live link from outside pins it: soft delete (history kept)
          }
          removed++;
        }
      }
      if (k > 0) list.splice(0, k);
    };
    drop(this.byBeat, (e) => (e.at as number) <= beat);
    drop(this.byTime, (e) => (e.at as bigint) <= ts);
    return removed;
  }

  /** Messages waiting for retention (both deadline kinds). */
  get pendingExpiries(): number {
    return this.byBeat.length + this.byTime.length;
  }
}
