// Growth over long runs (issue 16, item 10), in a child process per case (bench/growth.js, on the
// compiled output: `npx tsc -p tsconfig.build.json` first): store bytes after 100k and 300k beats
// of one small set per beat grow at most linearly (here: bounded), RSS after 100k and 1M beats of
// the kernel with recording on stays flat. Minutes long: `npm run test:soak`.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../bench/growth.js', import.meta.url));

describe('growth over long runs', () => {
  it('store bytes grow at most linearly (<= 3.3x from 100k to 300k beats); RSS stays within 15% from 100k to 1M beats', async () => {
    // asynchronous: the worker must keep answering vitest while the child runs for minutes
    const r = await promisify(execFile)(process.execPath, ['--expose-gc', script, '--json'], { encoding: 'utf8', maxBuffer: 1 << 24 });
    const { store, rss } = JSON.parse(r.stdout) as { store: Array<{ beats: number; bytes: number }>; rss: Array<{ beats: number; rss: number; recorded: number; historyEntries: number }> };
    console.log(JSON.stringify({ store, rss }));
    expect(store.map((s) => s.beats)).toEqual([100_000, 300_000]);
    expect(store[1].bytes / store[0].bytes).toBeLessThanOrEqual(3.3);
    expect(rss.map((s) => s.beats)).toEqual([100_000, 1_000_000]);
    expect(rss[1].rss / rss[0].rss).toBeLessThanOrEqual(1.15);
    // what keeps it flat: the recording and the payload history are windows
    expect(rss[1].recorded).toBe(65_536);
    expect(rss[1].historyEntries).toBeLessThanOrEqual(65_536 + 16_384 + 64);
  });
});
