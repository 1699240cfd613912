/**
 * One lifecycle call: `await rt.close()` on any runtime stops driven mode, shuts down, stops the
 * episode workers and the reactor it started, closes the store of a persistent runtime, and the
 * process then exits by itself. Afterwards writes, beats and impulses are coded refusals.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createReactor } from '../../src/async/reactor.js';
import { createRuntime } from '../../src/runtime/create.js';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};

describe('rt.close()', () => {
  it('lets a process with a reactor, threaded episodes and driven mode exit by itself', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cep-close-'));
    const index = pathToFileURL(path.resolve('dist/index.js')).href;
    const slices = `data:text/javascript,${encodeURIComponent('export function spin(ctx) { ctx.state = (ctx.state ?? 0) + 1; if (ctx.state < 50) ctx.yield(); else ctx.close(); }')}`;
    const file = path.join(dir, 'main.mjs');
    fs.writeFileSync(
      file,
      `import { createRuntime } from ${JSON.stringify(index)};
       const rt = createRuntime({ reactor: 'auto', executor: 'threaded', threads: 2 });
       await rt.episodes.load(${JSON.stringify(slices)});
       for (let i = 0; i < 4; i++) rt.episodes.start({ signal: 'app/spin', target: '/data', profile: 'ro', slice: { module: ${JSON.stringify(slices)}, name: 'spin' }, reads: ['/data'] });
       rt.start({ intervalMs: 5 });
       // closed mid-run: once driven mode has committed a beat that sent slices to the workers
       await new Promise((r) => { const off = rt.onCommit(() => { if (rt.episodes.offloaded > 0) off(), r(); }); });
       console.log('running', rt.episodes.active);
       const a = rt.close();
       console.log(a === rt.close() ? 'same' : 'other');
       await a;
       console.log('closed', rt.halted);`,
    );
    const r = await new Promise<{ code: number; out: string }>((done) =>
      execFile(process.execPath, [file], { timeout: 30_000 }, (e, out, err) => done({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out: out + err })),
    );
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r, r.out).toEqual({ code: 0, out: 'running 4\nsame\nclosed true\n' });
  }, 40_000);

  it('refuses writes, beats and impulses afterwards with codes; reads still work; closing twice is harmless', async () => {
    const rt = createRuntime();
    const a = rt.find('/data')!.add('a', { value: '1' });
    rt.step();
    await rt.close();
    await rt.close();
    expect(a.text).toBe('1');
    expect(code(() => a.set('2'))).toBe('ERR_HALTED');
    expect(code(() => rt.find('/data')!.add('b'))).toBe('ERR_HALTED');
    expect(code(() => rt.step())).toBe('ERR_HALTED');
    expect(code(() => rt.run())).toBe('ERR_HALTED');
    expect(code(() => rt.start())).toBe('ERR_HALTED');
    expect(code(() => rt.enqueue('app/x', '/data'))).toBe('ERR_HALTED');
    expect(a.text).toBe('1');
  });

  it('closes the store of a persistent runtime: the folder opens again at once', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cep-close-'));
    const rt = createRuntime({ store: { dir } });
    rt.find('/data')!.add('n', { value: 'x' });
    rt.step();
    await rt.close();
    expect(code(() => rt.find('/data/n')!.set('y'))).toBe('ERR_PERSIST_CLOSED');
    const again = createRuntime({ store: { dir } });
    expect(again.find('/data/n')!.text).toBe('x');
    await again.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('detaches the I/O fabric from a reactor given in: the reactor stays open and no longer wakes the closed runtime', async () => {
    const reactor = createReactor({ backend: 'portable' });
    const rt = createRuntime({ reactor });
    let wakes = 0;
    const wake = rt.heartbeat.wake.bind(rt.heartbeat);
    rt.heartbeat.wake = () => {
      wakes++;
      wake();
    };
    reactor.nop();
    await reactor.whenReady();
    reactor.drain();
    expect(wakes).toBeGreaterThan(0); // attached: a completion wakes the heartbeat
    await rt.close();
    wakes = 0;
    reactor.nop();
    await reactor.whenReady(); // the reactor is the caller's: still open
    expect(reactor.drain().length).toBe(1);
    expect(wakes).toBe(0);
    await reactor.close();
  });
});
