import { createRuntime } from 'cep';

const rt = createRuntime({ executor: 'threaded', threads: 2 });   // or 'stub' (the default)
rt.find('/data').add('counter', { value: '0' });

// a read-write function slice: runs on the runtime thread, holds a lease on its target
const { eid, ticket } = rt.episodes.start({
  signal: 'app/count',
  target: '/data/counter',
  profile: 'rw',
  budget: { ioBytes: 1 << 20, sliceCpuMs: 5 },
  slice(ctx) {
    const n = Number(ctx.text('/data/counter')) + 1;
    ctx.set('/data/counter', String(n));
    if (ctx.checkCancel()) return;        // cancelled by ticket, by itself, or over budget
    if (n < 10) ctx.yield(); else ctx.close();
  },
});

// a read-only module slice: on a worker thread with the threaded backend. The module is any
// ES module URL (a file next to yours: new URL('./slices.mjs', import.meta.url)); here, inline:
const slices = 'data:text/javascript,' + encodeURIComponent(`
  export function sum(ctx) {             // adds up /data/nums, one child per slice
    const st = ctx.state ?? { i: 0, total: 0 };
    const names = ctx.children('/data/nums').sort();
    if (st.i === names.length) { ctx.state = st; ctx.close(); return; }
    st.total += Number(ctx.text('/data/nums/' + names[st.i++]));
    ctx.state = st;
    ctx.yield();
  }`);
const nums = rt.find('/data').add('nums');
for (const [k, v] of [['a', '1'], ['b', '2'], ['c', '3']]) nums.add(k, { value: v });
console.error('load');await rt.episodes.load(slices);console.error('loaded');
rt.episodes.start({ signal: 'app/sum', target: '/data/nums', profile: 'ro',
  slice: { module: slices, name: 'sum' }, reads: ['/data/nums'] });

console.error('run');await rt.episodes.run();console.error('ran');                  // beats until nothing is queued or running
rt.ops.info(eid);                         // { verb: 'op/ep', state: 'ist:ok', status: 'sts:ok', history: [...] }
rt.episodes.cancelTicket(ticket);         // false: already finished
console.error('close');await rt.episodes.close();console.error('closed');                // stop the worker threads
