// The ledger: accounts holding balances, transfers arriving at a steady rate, enzymes that apply
// them, and an invariant: the balances always sum to the same total. `npm start` (or
// `npx cep run ledger`) runs it persisting to ./cep-data; Ctrl-C stops it cleanly and the next
// start resumes where it stopped.
//
// The module imports nothing: `cep run` hands it a runtime. Everything it does goes through
// enzymes, so every change is part of a beat (and of that beat's frame); the transfers are drawn
// from a seeded generator whose state lives in the tree, so a resumed ledger continues the same
// sequence.

export const description = 'accounts, transfers at a steady rate, and the invariant that balances always sum to the same total';

/** Defaults: 64 accounts of 1,000 units each. */
export const defaults = { accounts: 64, opening: 1000 };

const ROOT = '/data/ledger';

/** xorshift32: the next generator state (never 0). */
function next(x) {
  x ^= x << 13;
  x >>>= 0;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0 || 0x9e3779b9;
}

function num(cell) {
  return Number(cell.text);
}

/**
 * Install the ledger into `rt`: enzymes, bindings, and (first start only) the accounts. Returns
 * what the runner needs: `tick(count)` queues a tick that generates `count` transfers, `status()`
 * and `check()`.
 */
export function install(rt, options = {}) {
  const accounts = options.accounts ?? defaults.accounts;
  const opening = options.opening ?? defaults.opening;

  // ledger/tick {count}: draw `count` transfers from the generator, each one an impulse for the next beat
  rt.registerEnzyme({
    name: 'ledger_gen',
    signal: 'ledger/tick',
    run(ctx) {
      const ledger = ctx.rt.find(ROOT);
      const rng = ledger.child('rng');
      const n = Number(ledger.child('meta').child('accounts').text);
      let x = Number(rng.text);
      const count = Math.max(0, Math.min(10_000, Number(ctx.payload?.count ?? 0)));
      for (let i = 0; i < count; i++) {
        x = next(x);
        const from = 1 + (x % n);
        x = next(x);
        const to = 1 + (x % n);
        x = next(x);
        const amount = 1 + (x % 50);
        ctx.emit('ledger/transfer', `${ROOT}/accounts`, { from, to, amount });
      }
      rng.set(String(x));
      const ticks = ledger.child('stats').child('ticks');
      ticks.set(String(num(ticks) + 1));
    },
  });

  // ledger/transfer {from, to, amount}: move the amount when the payer has it, else count a refusal
  rt.registerEnzyme({
    name: 'ledger_apply',
    signal: 'ledger/transfer',
    run(ctx) {
      const { from, to, amount } = ctx.payload;
      const accountsCell = ctx.rt.find(`${ROOT}/accounts`);
      const stats = ctx.rt.find(`${ROOT}/stats`);
      const a = accountsCell.child(from);
      const b = accountsCell.child(to);
      if (a === undefined || b === undefined || !(amount > 0)) return 'fatal';
      if (num(a) < amount || from === to) {
        const r = stats.child('rejected');
        r.set(String(num(r) + 1));
        return 'ok';
      }
      a.set(String(num(a) - amount));
      b.set(String(num(b) + amount));
      const applied = stats.child('applied');
      applied.set(String(num(applied) + 1));
      return 'ok';
    },
  });
  rt.bind(ROOT, 'ledger_gen', { propagate: true });
  rt.bind(ROOT, 'ledger_apply', { propagate: true });

  // first start: the accounts are opened by an enzyme too, so they travel in a beat's frame
  const fresh = rt.find(ROOT) === undefined;
  if (fresh) {
    rt.registerEnzyme({
      name: 'ledger_open',
      signal: 'ledger/open',
      run(ctx) {
        const data = ctx.rt.find('/data');
        if (data.child('ledger') !== undefined) return 'ok';
        const ledger = data.add('ledger');
        const meta = ledger.add('meta');
        meta.add('accounts', { value: String(accounts) });
        meta.add('total', { value: String(accounts * opening) });
        ledger.add('rng', { value: String(0x2545f491) });
        const stats = ledger.add('stats');
        for (const k of ['ticks', 'applied', 'rejected']) stats.add(k, { value: '0' });
        const acc = ledger.add('accounts');
        for (let i = 1; i <= accounts; i++) acc.add(i, { value: String(opening) });
        return 'ok';
      },
    });
    rt.bind('/data', 'ledger_open');
    rt.enqueue('ledger/open', '/data');
  }

  return {
    fresh,
    /** Queue a tick that generates `count` transfers. */
    tick(count) {
      rt.enqueue('ledger/tick', ROOT, { count });
    },
    /** Counters for the status line. */
    status() {
      const stats = rt.find(`${ROOT}/stats`);
      if (stats === undefined) return { applied: 0, rejected: 0, ticks: 0 };
      return { applied: num(stats.child('applied')), rejected: num(stats.child('rejected')), ticks: num(stats.child('ticks')) };
    },
    /** The invariant: balances sum to the opening total; `fingerprint` identifies the balances and generator state. */
    check() {
      const ledger = rt.find(ROOT);
      if (ledger === undefined) return { ok: true, total: 0, expected: 0, accounts: 0, fingerprint: '0' };
      const expected = num(ledger.child('meta').child('total'));
      let total = 0;
      let n = 0;
      let h = 0x811c9dc5; // FNV-1a over "id=balance;" and the generator state
      const mix = (text) => {
        for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
      };
      for (const a of ledger.child('accounts').children()) {
        total += num(a);
        n++;
        mix(`${a.name}=${a.text};`);
      }
      mix(ledger.child('rng').text);
      return { ok: total === expected, total, expected, accounts: n, fingerprint: h.toString(16) };
    },
  };
}
