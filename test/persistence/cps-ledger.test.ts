import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { removeTempDirs, tempDir } from './cps-helpers.js';

const root = new URL('../..', import.meta.url).pathname;
const addon = join(root, 'build', 'Release', 'cep.node');
const ledger = join(root, 'examples', 'ledger');
let cli = '';

beforeAll(() => {
  cli = join(tempDir('cli'), 'cep.mjs');
  buildSync({ entryPoints: [join(root, 'src', 'cli', 'cep.ts')], bundle: true, platform: 'node', format: 'esm', outfile: cli, logLevel: 'silent' });
});
afterAll(() => removeTempDirs());

interface Run {
  code: number | null;
  lines: string[];
  stderr: string;
}

/** `cep run ledger` in a child; `until(lines)` true sends `signal` (none: wait for it to stop by itself). */
function runLedger(dir: string, extra: string[], until?: (lines: string[]) => boolean, signal: NodeJS.Signals = 'SIGINT'): Promise<Run> {
  const native = process.env.CEP_NATIVE !== '0' && existsSync(addon);
  const env = { ...process.env, ...(native ? { CEP_NATIVE_PATH: addon } : { CEP_NATIVE: '0' }) };
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [cli, 'run', ledger, '--dir', dir, '--status', '20', ...extra], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buf = '';
    let stderr = '';
    let sent = false;
    const guard = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (s: string) => {
      buf += s;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
      if (!sent && until?.(lines) === true) {
        sent = true;
        p.kill(signal);
      }
    });
    p.stderr.setEncoding('utf8');
    p.stderr.on('data', (s: string) => (stderr += s));
    p.on('error', reject);
    p.on('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, lines, stderr });
    });
  });
}

/** `cep <args>` in a child, to its end. */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const native = process.env.CEP_NATIVE !== '0' && existsSync(addon);
  const env = { ...process.env, ...(native ? { CEP_NATIVE_PATH: addon } : { CEP_NATIVE: '0' }) };
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    p.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    p.on('error', reject);
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `key=value` fields of a line. */
function fields(line: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of (line ?? '').matchAll(/(\w+)=(\S+)/g)) out[m[1]] = m[2];
  return out;
}

const statusLines = (lines: string[]) => lines.filter((l) => l.startsWith('beat '));

describe('cep run ledger (the main job)', () => {
  it('runs with a live status line, stops cleanly on SIGINT / SIGTERM through op/shdn with a flush, and resumes exactly where it stopped', async () => {
    const dir = tempDir('ledger');
    const first = await runLedger(dir, ['--rate', '3000', '--interval', '10'], (l) => statusLines(l).length >= 8 && Number(statusLines(l).at(-1)!.split(' ')[1]) > 20);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.lines[0]).toMatch(/^new store /);
    expect(statusLines(first.lines).at(-1)).toMatch(/^beat \d+ \| \d+ impulses\/s \| durable lag \d+ \| store \d+\.\d\d MB$/);
    const stopped = fields(first.lines.at(-1));
    expect(first.lines.at(-1)).toMatch(/^stopped \(SIGINT\) /);
    expect(stopped.ok).toBe('true');
    expect(stopped.total).toBe(stopped.expected);
    expect(Number(stopped.durable)).toBeGreaterThanOrEqual(Number(stopped.beat)); // everything flushed
    expect(Number(stopped.applied)).toBeGreaterThan(100);

    const second = await runLedger(dir, ['--rate', '3000', '--interval', '10'], (l) => statusLines(l).length >= 4, 'SIGTERM');
    expect(second.code).toBe(0);
    const resumed = fields(second.lines[0]);
    expect(second.lines[0]).toMatch(/^resumed /);
    expect(resumed.fingerprint).toBe(stopped.fingerprint); // same balances, same generator state
    expect(resumed.total).toBe(stopped.total);
    expect(Number(resumed.beat)).toBe(Number(stopped.durable) + 1);
    const again = fields(second.lines.at(-1));
    expect(second.lines.at(-1)).toMatch(/^stopped \(SIGTERM\) /);
    expect(again.ok).toBe('true');
    expect(Number(again.applied)).toBeGreaterThan(Number(stopped.applied));

    // --ticks: stops by itself; the third start resumes the second's end
    const third = await runLedger(dir, ['--rate', '1000', '--interval', '5', '--ticks', '5']);
    expect(third.code).toBe(0);
    expect(fields(third.lines[0]).fingerprint).toBe(again.fingerprint);
    expect(fields(third.lines.at(-1)).ticks).toBe(String(Number(again.ticks) + 5));
  }, 90_000);

  it('a damaged store: cep run refuses it in one line (exit 1); cep store repair cuts it back; a torn tail is a one-line warning', async () => {
    const dir = tempDir('damaged');
    expect((await runLedger(dir, ['--rate', '2000', '--interval', '5', '--ticks', '40'])).code).toBe(0);
    // the largest branch log; its records end where the preallocated zeros begin
    const logs = readdirSync(join(dir, 'branches')).map((b) => join(dir, 'branches', b, 'frames.log'));
    const log = logs.sort((a, b) => statSync(b).size - statSync(a).size)[0];
    const bytes = readFileSync(log);
    const starts: number[] = [];
    let end = 0;
    for (; end + 96 <= bytes.length && bytes.readUInt32LE(end) === 0x4c504543; end += 96 + bytes.readUInt32LE(end + 8)) starts.push(end);
    expect(starts.length).toBeGreaterThan(4);
    const damaged = Buffer.from(bytes);
    damaged.writeUInt32LE(0x01020304, starts[Math.floor(starts.length / 2)] + 100); // 4 bytes overwritten mid-log
    writeFileSync(log, damaged);
    const refused = await runLedger(dir, ['--ticks', '1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^cep run: the store is damaged: .*cep store repair\)\n$/);
    expect(readFileSync(log).equals(damaged)).toBe(true); // nothing changed
    const repair = await runCli(['store', 'repair', dir]);
    expect(repair.code).toBe(0);
    expect(repair.stdout).toMatch(/^cut: branches\/.*kept in .*quarantine\/1$/m);
    expect(repair.stdout).toMatch(/^repaired: quarantine .*quarantine\/1; the store is at beat \d+$/m);
    const resumed = await runLedger(dir, ['--ticks', '1']);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toBe('');
    expect(fields(resumed.lines.at(-1)).ok).toBe('true');
    // a torn tail (a record's first bytes in the preallocated room): cut, said on one stderr line
    const now = readFileSync(log);
    let tail = 0;
    while (tail + 96 <= now.length && now.readUInt32LE(tail) === 0x4c504543) tail += 96 + now.readUInt32LE(tail + 8);
    now.set([0x43, 0x45, 0x50, 0x4c, 1, 1, 0, 0, 9], tail);
    writeFileSync(log, now);
    const warned = await runLedger(dir, ['--ticks', '1']);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toMatch(/^cep run: warning: recovery cut branches\/[^\n]*frames\.log: cut \d+ bytes[^\n]*\n$/);
  }, 60_000);

  it('refuses unknown examples and bad options with exit code 2', async () => {
    const r = await runLedger(tempDir('bad'), ['--rate', 'fast']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--rate needs a number');
  });
});
