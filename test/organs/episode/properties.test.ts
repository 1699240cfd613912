import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Recording, Runtime } from '../../../src/index.js';
import { dump, runtime } from './helpers.js';

type Step = 'yield' | 'close' | 'cancel' | 'request' | 'io' | 'await' | 'write' | 'throw';
interface Plan {
  profile: 'ro' | 'rw' | 'hybrid';
  steps: Step[];
  ioBudget?: number;
  cancelAt?: number; // beat at which a supervisor enzyme cancels it by ticket
}

const step = fc.constantFrom<Step>('yield', 'yield', 'yield', 'close', 'cancel', 'request', 'io', 'await', 'write', 'throw');
const plan = fc.record({
  profile: fc.constantFrom<'ro' | 'rw' | 'hybrid'>('ro', 'rw', 'hybrid'),
  steps: fc.array(step, { minLength: 1, maxLength: 6 }),
  ioBudget: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
  cancelAt: fc.option(fc.integer({ min: 2, max: 8 }), { nil: undefined }),
});

/** A runtime whose `app/go` enzyme starts the planned episodes; `app/cancel` cancels by ticket. */
function world(plans: Plan[], replay?: Recording): Runtime {
  const rt = runtime({ replay });
  void rt.episodes; // the engine exists from boot in both runs
  const job = rt.ops.start('op/job', { target: '/data' });
  const tickets: number[] = [];
  rt.registerEnzyme({
    name: 'go',
    signal: 'app/go',
    run: (ctx) => {
      const data = ctx.rt.find('/data')!;
      plans.forEach((p, i) => {
        const target = data.child(`t${i}`) ?? data.add(`t${i}`, { value: '' });
        let k = 0;
        tickets.push(
          ctx.rt.episodes.start({
            signal: 'app/ep',
            target: target.path,
            profile: p.profile,
            budget: p.ioBudget === undefined ? undefined : { ioBytes: p.ioBudget },
            slice: (c) => {
              const s = p.steps[k++ % p.steps.length];
              if (s === 'throw') throw new Error('planned');
              if (s === 'io') c.accountIO(100);
              if (s === 'write') {
                if (p.profile === 'hybrid') c.promote();
                c.set(target.path, `${c.beat}`);
                c.streamWrite(target.path, 0, new Uint8Array([k]));
              }
              if (s === 'close') return c.close();
              if (s === 'cancel') return c.cancel();
              if (s === 'request') c.requestCancel();
              if (s === 'await') return c.await(job, { ttl: 2 });
              if (k >= 12) return c.close();
              c.yield();
            },
          }).ticket,
        );
      });
    },
  });
  rt.registerEnzyme({ name: 'cancel', signal: 'app/cancel', run: (ctx) => void ctx.rt.episodes.cancelTicket(tickets[Number(ctx.payload)]) });
  rt.bind('/data', 'go');
  rt.bind('/data', 'cancel');
  return rt;
}

function drive(rt: Runtime, plans: Plan[], live: boolean): void {
  for (let b = 1; b <= 16; b++) {
    if (live && b === 1) rt.enqueue('app/go', '/data');
    if (live) plans.forEach((p, i) => p.cancelAt === b && rt.enqueue('app/cancel', '/data', String(i)));
    rt.step();
  }
}

describe('episode properties', () => {
  it('any mix of episodes runs without breaking a beat, ends in a closed dossier, and replays to the same digests', () => {
    fc.assert(
      fc.property(fc.array(plan, { minLength: 1, maxLength: 5 }), (plans) => {
        const rt = world(plans);
        drive(rt, plans, true);
        const eids = rt
          .find('/rt/ops')!
          .children()
          .map((c) => Number(c.name))
          .filter((e) => rt.ops.info(e).verb === 'op/ep');
        expect(eids).toHaveLength(plans.length);
        for (const e of eids) {
          const st = rt.ops.info(e);
          if (st.status === undefined) expect(['ist:yield', 'ist:await', 'ist:run', 'ist:plan']).toContain(st.state);
          else expect(['sts:ok', 'sts:cnl', 'sts:cxl', 'sts:fail']).toContain(st.status);
        }
        const again = world(plans, rt.recording());
        drive(again, plans, false);
        for (let b = 1; b <= 16; b++) expect(Buffer.from(again.digest(b)!).toString('hex')).toBe(Buffer.from(rt.digest(b)!).toString('hex'));
        for (const e of eids) expect(dump(again, e)).toEqual(dump(rt, e));
      }),
      { numRuns: 40 },
    );
  });
});
