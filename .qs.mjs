import assert from 'node:assert/strict';
import { createRuntime } from 'cep';

// 1. State: a tree of cells, every change stamped with its beat
const rt = createRuntime();
const accounts = rt.find('/data').add('accounts');
accounts.add('user-42', { value: '100' });

// 2. Work: an enzyme bound to a subtree reacts to impulses
const transfer = {
  name: 'transfer',
  signal: 'bank/transfer',
  run(ctx) {
    const { from, to, amount } = JSON.parse(ctx.payload);
    const book = ctx.rt.find('/data/accounts');
    const src = book.child(from);
    const dst = book.child(to) ?? book.add(to, { value: '0' });
    src.set(String(Number(src.text) - amount));
    dst.set(String(Number(dst.text) + amount));
  },
};
rt.registerEnzyme(transfer);
rt.bind('/data/accounts', 'transfer');

// 3. Time: one beat = Capture → Compute → Commit
rt.enqueue('bank/transfer', '/data/accounts', JSON.stringify({ from: 'user-42', to: 'user-7', amount: 30 }));
rt.step();
assert.equal(rt.find('/data/accounts/user-7').text, '30');
assert.equal(rt.find('/data/accounts/user-42').text, '70');
console.log(rt.beat, rt.find('/data/accounts/user-42').valueAt(0));
