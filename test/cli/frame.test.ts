import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { frameCommand } from '../../src/cli/frame.js';
import { createRuntime, encodeBranch } from '../../src/index.js';
import { KEY } from '../serialization/helpers.js';

function run(args: string[]): { status: number; out: string; err: string } {
  let out = '';
  let err = '';
  const status = frameCommand(
    args,
    (s) => (out += `${s}\n`),
    (s) => (err += `${s}\n`),
  );
  return { status, out, err };
}

describe('cep frame inspect|verify', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cep-frame-'));
  const rt = createRuntime();
  const app = rt.find('/data')!.add('app');
  app.add('x', { value: 'hello' });
  const good = join(dir, 'good.frame');
  writeFileSync(good, encodeBranch(app, { mode: 'snapshot', deflate: true }));
  const sealed = join(dir, 'sealed.frame');
  writeFileSync(sealed, encodeBranch(app, { mode: 'snapshot', aead: { key: KEY, cipher: 'chacha20-poly1305' } }));

  it('inspect prints the trailer and one line per record', () => {
    const r = run(['inspect', good]);
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/^beat {8}0$/m);
    expect(r.out).toMatch(/compression deflate/);
    expect(r.out).toMatch(/cell_desc/);
    expect(r.out.trim().split('\n').at(-1)).toMatch(/trailer/);
    const json = JSON.parse(run(['inspect', good, '--json']).out);
    expect(json.root).toMatch(/^[0-9a-f]{64}$/);
  });

  it('verify exits 0 on a good frame and 1 with the error code on a bad one', () => {
    expect(run(['verify', good]).status).toBe(0);
    const bytes = encodeBranch(app, { mode: 'snapshot' });
    bytes[40] ^= 4;
    const bad = join(dir, 'bad.frame');
    writeFileSync(bad, bytes);
    const r = run(['verify', bad]);
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/^ERR_FRAME_CRC/);
    expect(JSON.parse(run(['verify', bad, '--json']).out).code).toBe('ERR_FRAME_CRC');
  });

  it('opens sealed chunks with --key and refuses a wrong key', () => {
    expect(run(['verify', sealed, '--key', Buffer.from(KEY).toString('hex')]).status).toBe(0);
    const r = run(['verify', sealed, '--key', '00'.repeat(32)]);
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/^ERR_FRAME_AEAD/);
  });

  it('explains its usage', () => {
    expect(run(['explode']).status).toBe(2);
    expect(run(['verify']).status).toBe(2);
    expect(run(['verify', join(dir, 'missing')]).status).toBe(2);
    expect(run(['verify', good, '--key', 'xyz']).status).toBe(2);
  });
});
