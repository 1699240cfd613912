import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { availableBackends } from '../../src/async/select.js';
import { runChild } from './child.js';
import { tempDir } from './helpers.js';

describe.each(availableBackends())('reactor process lifecycle on %s', (backend) => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('keeps the process alive until queued work finished, then lets it exit', () => {
    const file = join(tmp.dir, 'out.log');
    const r = runChild(
      tmp.dir,
      `import { createReactor } from '@src/async/reactor.ts';
       const r = createReactor();
       r.onReady(() => {
         for (const c of r.drain()) {
           if (c.op === 'open') for (let i = 0; i < 64; i++) r.writeSync(c.result, new Uint8Array(4096).fill(i));
         }
       });
       r.open(${JSON.stringify(file)}, 'a');`,
      { CEP_IO_REACTOR_BACKEND: backend },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(file).length).toBe(64 * 4096);
  });

  it('process.exit with work queued exits at once, without hanging', () => {
    const r = runChild(
      tmp.dir,
      `import { createReactor } from '@src/async/reactor.ts';
       const r = createReactor();
       const l = r.listen({ host: '127.0.0.1', port: 0 });
       r.onReady(() => {
         // the exit waits a moment so that the accepts are parked in the kernel (nothing shows that;
         // on a slow machine they may not be yet, and the exit must be as quick then)
         for (const c of r.drain()) if (c.seq === l) { r.accept(c.result); r.accept(c.result); setTimeout(() => process.exit(7), 20); }
       });
       for (let i = 0; i < 100; i++) r.nop();`,
      { CEP_IO_REACTOR_BACKEND: backend },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(7);
    expect(r.signal).toBeNull();
  });
});

describe('worker pool process lifecycle', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('an idle pool lets the process exit, and close() of an idle pool finishes before it does', () => {
    const tasks = new URL('./fixtures/tasks.mjs', import.meta.url).pathname;
    const r = runChild(
      tmp.dir,
      `import { createWorkerPool } from '@src/async/worker-pool.ts';
       const pool = createWorkerPool({ module: ${JSON.stringify(tasks)}, functions: ['echo'], threads: 2 });
       let n = 0;
       for (let i = 0; i < 50; i++) n += (await pool.run('echo', Uint8Array.of(i))).length;
       // nothing keeps the process alive any more (the idle workers are unref'ed): Node says so
       await new Promise((resolve) => process.once('beforeExit', resolve));
       await pool.close(); // top-level await: exit code 13 if nothing kept the process alive
       console.log('closed after', n);`,
      {},
    );
    expect(r.stderr).toBe('');
    expect([r.status, r.stdout.trim()]).toEqual([0, 'closed after 50']);
  });
});
