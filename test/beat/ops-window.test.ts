import { describe, expect, it } from 'vitest';
import { code, runtime } from './helpers.js';

describe('OPS: history windows, standing watchers, states recorded late', () => {
  it('a window keeps the newest history entries and no payload history on state; the close ends it', () => {
    const rt = runtime();
    const op = rt.ops.start('op/long');
    rt.ops.window(op, 3);
    rt.registerEnzyme({ name: 'tick', signal: 'app/tick', run: (ctx) => void ctx.rt.ops.state(op, `ist:s${ctx.beat}`) });
    rt.bind('/data', 'tick');
    for (let b = 0; b < 10; b++) {
      rt.enqueue('app/tick', '/data');
      rt.step();
    }
    expect(rt.ops.info(op).history.map((h) => `${h.beat}:${h.value}`)).toEqual(['8:ist:s8', '9:ist:s9', '10:ist:s10']);
    expect(rt.ops.dossier(op).child('state')!.payloadBeats()).toEqual([10]);
    rt.ops.close(op, 'sts:ok');
    expect(rt.ops.info(op).history.map((h) => h.value)).toEqual(['ist:s9', 'ist:s10', 'sts:ok']);
    expect(() => rt.ops.window(op, 3)).toThrow(code('ERR_INVALID_STATE')); // closed
  });

  it('refuses a bad window or a beat outside 0 .. now, changing nothing', () => {
    const rt = runtime();
    const op = rt.ops.start('op/x');
    rt.step();
    rt.step();
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => rt.ops.window(op, bad)).toThrow(code('ERR_OUT_OF_RANGE'));
    for (const bad of [-1, rt.beat + 1, 0.5]) expect(() => rt.ops.state(op, 'ist:run', bad)).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(rt.ops.info(op).history).toEqual([]);
    rt.ops.state(op, 'ist:run', 1); // began at beat 1, recorded later
    expect(rt.ops.info(op).history).toEqual([{ beat: 1, kind: 'state', value: 'ist:run' }]);
  });

  it('a standing watcher is evidence only: commit never fires it, whatever the state', () => {
    const rt = runtime();
    const op = rt.ops.start('op/y');
    const fired: string[] = [];
    for (const s of ['op/cont', 'op/tmo']) {
      rt.registerEnzyme({ name: s, signal: s, run: (ctx) => void fired.push(ctx.signal) });
      rt.bind('/rt/ops', s, { propagate: true });
    }
    const w = rt.ops.standing(op, 'ist:wait', rt.ops.dossier(op).path);
    rt.ops.state(op, 'ist:wait');
    rt.run({ beats: 3 });
    expect(fired).toEqual([]);
    expect(w.child('deadline_bt')!.value).toEqual(new Uint8Array(8));
    expect(rt.ops.dossier(op).child('watchers')!.children()).toEqual([w]);
    expect(() => rt.ops.standing(op, '', '/x')).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => rt.ops.standing(op, 'ist:a', 'relative')).toThrow(code('ERR_INVALID_ARG_TYPE'));
  });
});
