import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../src/internal.js';
import { hex } from './helpers.js';

/** The application: each order impulse writes /data/orders/<n>, stamped with a decided clock. */
function shop(options: RuntimeOptions): Runtime {
  const rt = createRuntime(options);
  rt.registerEnzyme({
    name: 'take-order',
    signal: 'http/order',
    run(ctx) {
      const orders = ctx.rt.find('/data/orders') ?? ctx.rt.find('/data')!.add('orders', { store: 'list', indexing: 'insertion' });
      const at = ctx.decide('clock', () => Date.now());
      orders.add(null, { value: `${String(ctx.payload)}@${at}` });
    },
  });
  rt.bind('/data', 'take-order');
  return rt;
}

function post(port: number, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/order' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('driven heartbeat behind a real HTTP server', () => {
  it('beats follow requests without blocking the server; the recording replays to the same digests', async () => {
    const rt = shop({ record: true });
    const waiting: Array<(beat: number) => void> = [];
    rt.onCommit((beat) => {
      for (const w of waiting.splice(0)) w(beat); // answer once the beat that took the order is committed
    });
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        rt.enqueue('http/order', '/data', body);
        waiting.push((beat) => res.end(`beat ${beat}`));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    rt.start({ intervalMs: 5 });
    try {
      const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => post(port, `item-${i}`)));
      expect(replies.every((r) => /^beat \d+$/.test(r))).toBe(true);
    } finally {
      rt.stop();
      server.close();
    }
    const orders = rt.find('/data/orders')!.children();
    expect(orders.length).toBe(40);
    expect(new Set(orders.map((o) => o.text!.split('@')[0])).size).toBe(40);
    const beats = rt.beat - 1;
    const again = shop({ replay: rt.recording() });
    for (let b = 1; b <= beats; b++) {
      again.step();
      expect(hex(again.digest(b)), `beat ${b}`).toBe(hex(rt.digest(b)));
    }
    expect(
      again
        .find('/data/orders')!
        .children()
        .map((o) => o.text),
    ).toEqual(orders.map((o) => o.text));
  });
});
