// A heartbeat with enzymes, decisions, record and replay: run `npm install` first, then
// `node examples/heartbeat.mjs`.
import { createRuntime, decodeImpulses, registerCellOperations } from '../dist/index.js';

const hex = (b) => Buffer.from(b).toString('hex').slice(0, 16);

/** The application: the same code runs live and in replay. */
function app(options) {
  const rt = createRuntime(options);
  rt.registerEnzyme({
    name: 'counter',
    signal: 'app/inc',
    run(ctx) {
      const c = ctx.rt.find(ctx.target);
      const step = ctx.decide('dice', () => 1 + Math.floor(Math.random() * 6)); // recorded
      c.set(String(Number(c.text) + step));
      if (Number(c.text) < 20) ctx.emit('app/inc', ctx.target); // next beat
    },
  });
  rt.registerEnzyme({ name: 'audit', signal: 'app', match: 'prefix', after: ['counter'], run: (ctx) => void ctx.rt.cei({ severity: 'debug', topic: 'app/audit', note: `${ctx.signal} at beat ${ctx.beat}` }) });
  rt.find('/data').add('n', { value: '0' });
  rt.bind('/data', 'counter', { propagate: true });
  rt.bind('/data', 'audit', { propagate: true });
  registerCellOperations(rt);
  return rt;
}

const live = app({ record: true });
live.enqueue('app/inc', '/data/n');
const beats = live.run();
console.log(`live: ${beats} beats, n = ${live.find('/data/n').text}`);
console.log('beat 1 impulses:', decodeImpulses(live.find('/rt/beat/1/impulses').value));
console.log('facts in /data/mailbox/diag:', live.mailboxes.messages('/data/mailbox/diag').length);

const replay = app({ replay: live.recording() });
replay.run();
for (let b = 1; b <= beats; b++) console.log(`beat ${b}: live ${hex(live.digest(b))} replay ${hex(replay.digest(b))}`);
console.log('same state:', replay.find('/data/n').text === live.find('/data/n').text);

// A cell operation: copy /data/n under /tmp through a request dictionary.
const req = live.find('/tmp').add('req');
req.add('role_parent', { link: live.find('/tmp') });
req.add('role_source', { link: live.find('/data/n') });
live.enqueue('sig_cell/op_cln', '/tmp/req');
live.step();
console.log('cloned:', live.find('/tmp/n')?.text);
live.shutdown();
console.log('halted:', live.halted);
