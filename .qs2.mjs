import assert from 'node:assert/strict';
import { createRuntime } from 'cep';
const bank = {
  name: 'transfer',
  signal: 'bank/transfer',
  run(ctx) {
    const { from, to, amount } = JSON.parse(ctx.payload);
    const book = ctx.rt.find('/data/accounts');
    const src = book.child(from);
    const dst = book.child(to) ?? book.add(to, { value: '0' });
    src.set(String(Number(src.text) - amount));
    dst.set(String(Number(dst.text) + amount));
    ctx.decide('clock', () => Date.now());
  },
};
const rt = createRuntime();
rt.find('/data').add('accounts').add('user-42', { value: '100' });
rt.registerEnzyme(bank);
rt.bind('/data/accounts', 'transfer');
rt.enqueue('bank/transfer', '/data/accounts', { from: 'user-42', to: 'user-7', amount: 30 });
const b = rt.step();
console.log(b, rt.beat, typeof (rt.enqueue));
const replay = createRuntime({ replay: rt.recording() });
replay.registerEnzyme(bank);
replay.bind('/data/accounts', 'transfer');
replay.step();
console.log(Buffer.from(replay.digest(1)).equals(Buffer.from(rt.digest(1))), replay.find('/data/accounts/user-7')?.text);
