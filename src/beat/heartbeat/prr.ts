/**
 * Pause / rollback / resume. The controls are impulses (`op/pause`, `op/rollback` with the
 * horizon beat as payload, `op/resume`), so a recording replays them; the heartbeat applies
 * them at Capture, before the beat's agenda runs, each under its own OPS dossier.
 *
 * Pause takes the store and data locks of `/data`: while paused nothing outside the heartbeat
 * changes application state (beats run under the lock tokens, and so do CEI facts). Non-control
 * impulses are parked as messages in `/data/mailbox/impulses` (those without `retainOnPause`
 * are dropped); control impulses (`op/*`, `sig_cei/*`, QoS `control`) still run. Rollback
 * publishes `/sys/state/view_hzn` (the beat readers should view) and drops parked impulses
 * marked `discardOnRollback`. Resume releases the locks, re-queues the backlog in message id
 * order for the next beat, and clears `/sys/state/paused` and `view_hzn`.
 */
import type { Cell } from '../../kernel/cell/cell.js';
import type { LockToken } from '../../kernel/lock.js';
import type { Tree } from '../../kernel/tree.js';
import type { Cei } from '../cei/cei.js';
import type { Mailboxes } from '../cei/mailbox.js';
import type { Ops } from '../ops/ops.js';
import { JsonPayload, type StoredPayload } from './context.js';
import { u64le } from './encode.js';
import { QOS_CONTROL, QOS_DISCARD_ON_ROLLBACK, QOS_RETAIN_ON_PAUSE, type ImpulseQueue } from './queue.js';

export const PARKED_MAILBOX = '/data/mailbox/impulses';
export const SIG_PAUSE = 'op/pause';
export const SIG_ROLLBACK = 'op/rollback';
export const SIG_RESUME = 'op/resume';

export function isPrrSignal(s: string): boolean {
  return s === SIG_PAUSE || s === SIG_ROLLBACK || s === SIG_RESUME;
}

/** Parse a rollback payload: decimal text or 8-byte little-endian. */
function horizonOf(p: StoredPayload): number | undefined {
  if (p instanceof JsonPayload) {
    const v = p.value();
    return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  }
  if (typeof p === 'string' && /^\d{1,15}$/.test(p)) return Number(p);
  if (p instanceof Uint8Array && p.length === 8) {
    const v = new DataView(p.buffer, p.byteOffset, 8).getBigUint64(0, true);
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
  }
  return undefined;
}

export class Prr {
  paused = false;
  horizon: number | undefined = undefined;
  /** The `/data` store and data lock tokens held while paused. */
  private tokens: [LockToken, LockToken] | undefined;

  constructor(
    private readonly rt: Tree,
    private readonly mailboxes: Mailboxes,
    private readonly ops: Ops,
    private readonly cei: Cei,
  ) {}

  /** Run `fn` with the pause locks granted (as is, when not paused). */
  grant<T>(fn: () => T): T {
    const t = this.tokens;
    return t === undefined ? fn() : t[0].run(() => t[1].run(fn));
  }

  isControl(signal: string, qos: number): boolean {
    return (qos & QOS_CONTROL) !== 0 || signal.startsWith('op/') || signal.startsWith('sig_cei/');
  }

  private state(): Cell {
    const sys = this.rt.find('/sys')!;
    return sys.child('state') ?? sys.add('state');
  }

  private put(name: string, value: Uint8Array | string | undefined): void {
    const st = this.state();
    const c = st.child(name);
    if (value === undefined) c?.remove();
    else if (c === undefined) st.add(name, { value });
    else c.set(value);
  }

  /** Park (or drop, without retainOnPause) an impulse; returns true when parked. */
  park(s: string, t: string | null, p: StoredPayload, qos: number): boolean {
    if ((qos & QOS_RETAIN_ON_PAUSE) === 0) return false;
    this.grant(() =>
      this.mailboxes.post(PARKED_MAILBOX, {}, (m) => {
        m.add('signal', { value: s });
        if (t !== null) m.add('target', { value: t });
        if (typeof p === 'string') m.add('payload', { value: p });
        else if (p instanceof JsonPayload) m.add('payload_json', { value: p.json });
        else if (p !== undefined) m.add('payload_bytes', { data: p });
        m.add('qos', { value: String(qos) });
      }),
    );
    return true;
  }

  private fail(oid: number, note: string): void {
    this.grant(() => this.cei.emit({ severity: 'usage', topic: 'control/prr', note, dossier: oid }));
    this.ops.close(oid, 'sts:fail');
  }

  /** Apply one control impulse; the drained backlog goes to `next` (the next beat). */
  apply(signal: string, payload: StoredPayload, next: ImpulseQueue): void {
    const oid = this.ops.start(signal, { target: '/sys/state' });
    this.ops.state(oid, 'ist:plan');
    if (signal === SIG_PAUSE) {
      if (this.paused) return this.fail(oid, 'pause: already paused');
      const data = this.rt.find('/data')!;
      let store: LockToken | undefined;
      try {
        store = data.lockStore();
        this.tokens = [store, data.lockData()];
      } catch (e) {
        if (store !== undefined) data.unlockStore(store);
        return this.fail(oid, `pause: cannot lock /data (${(e as Error).message})`);
      }
      this.ops.state(oid, 'ist:quiesce');
      this.paused = true;
      this.put('paused', 'true');
      this.ops.state(oid, 'ist:paused');
    } else if (signal === SIG_ROLLBACK) {
      if (!this.paused) return this.fail(oid, 'rollback: the runtime is not paused');
      const h = horizonOf(payload);
      if (h === undefined || h > this.rt.beat) return this.fail(oid, `rollback: the payload must be a beat <= ${this.rt.beat}`);
      this.ops.state(oid, 'ist:cutover');
      this.grant(() => {
        for (const m of this.mailboxes.messages(PARKED_MAILBOX)) {
          if ((Number(m.child('qos')!.text) & QOS_DISCARD_ON_ROLLBACK) !== 0) m.removeHard();
        }
      });
      this.horizon = h;
      this.put('view_hzn', u64le(BigInt(h)));
      this.ops.state(oid, 'ist:ok');
    } else {
      if (!this.paused) return this.fail(oid, 'resume: the runtime is not paused');
      this.ops.state(oid, 'ist:run');
      this.grant(() => {
        for (const m of this.mailboxes.messages(PARKED_MAILBOX)) {
          const json = m.child('payload_json')?.text;
          const pay = json !== undefined ? new JsonPayload(json) : (m.child('payload')?.text ?? m.child('payload_bytes')?.value);
          next.push(m.child('signal')!.text!, m.child('target')?.text ?? null, pay, Number(m.child('qos')!.text));
          m.removeHard();
        }
      });
      const data = this.rt.find('/data')!;
      const [store, dataTok] = this.tokens!;
      data.unlockData(dataTok);
      data.unlockStore(store);
      this.tokens = undefined;
      this.paused = false;
      this.horizon = undefined;
      this.put('paused', undefined);
      this.put('view_hzn', undefined);
      this.ops.state(oid, 'ist:ok');
    }
    this.ops.close(oid, 'sts:ok');
  }
}
