/** Shared by the persistence tests: temp store folders and a small counter application. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime } from '../../src/runtime/create.js';
import type { PersistentRuntime, StoreOptions } from '../../src/runtime/persistent.js';
import type { Runtime } from '../../src/runtime/runtime.js';

const made: string[] = [];

export function tempDir(tag = 'cps'): string {
  const d = mkdtempSync(join(tmpdir(), `cep-${tag}-`));
  made.push(d);
  return d;
}

export function removeTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/**
 * The counter app: `app/put` with payload `{ branch, key, value }` writes `/data/<branch>/<key>`
 * (creating the branch and the cell when missing); `app/del` removes it.
 */
export function installApp(rt: Runtime): void {
  rt.registerEnzyme({
    name: 'app_put',
    signal: 'app/put',
    run(ctx) {
      const { branch, key, value } = ctx.payload as { branch: string; key: string; value: string };
      const data = ctx.rt.find('/data')!;
      const b = data.child(branch) ?? data.add(branch);
      const c = b.child(key);
      if (c === undefined) b.add(key, { value });
      else c.set(value);
    },
  });
  rt.registerEnzyme({
    name: 'app_del',
    signal: 'app/del',
    run(ctx) {
      const { branch, key } = ctx.payload as { branch: string; key: string };
      ctx.rt.find(`/data/${branch}/${key}`)?.remove();
    },
  });
  rt.bind('/data', 'app_put', { propagate: true });
  rt.bind('/data', 'app_del', { propagate: true });
}

export function open(dir: string, store: Omit<StoreOptions, 'dir'> = {}): PersistentRuntime {
  const rt = createRuntime({ store: { dir, ...store }, record: false });
  installApp(rt);
  return rt;
}

/** Queue a write and run the beat; returns the beat. */
export function put(rt: Runtime, branch: string, key: string, value: string): number {
  rt.enqueue('app/put', '/data', { branch, key, value });
  return rt.step();
}

/** `key=value` of every visible child of `/data/<branch>`, in name order. */
export function contents(rt: Runtime, branch: string): Record<string, string> {
  const out: Record<string, string> = {};
  const b = rt.find(`/data/${branch}`);
  if (b === undefined) return out;
  for (const c of b.children()) out[c.name] = c.text ?? '';
  return Object.fromEntries(Object.entries(out).sort(([a], [b2]) => (a < b2 ? -1 : 1)));
}

/** Topics of the CEI facts in the diagnostics mailbox, in order. */
export function topics(rt: Runtime): string[] {
  return rt.mailboxes.messages('/data/mailbox/diag').map((m) => m.child('topic')!.text!);
}

/** OPS dossiers of `verb`, oldest first: their state, status and recorded states. */
export function dossiers(rt: Runtime, verb: string): Array<{ oid: number; status: string | undefined; states: string[] }> {
  const ops = rt.find('/rt/ops');
  if (ops === undefined) return [];
  const out: Array<{ oid: number; status: string | undefined; states: string[] }> = [];
  for (const d of ops.children()) {
    const oid = Number(d.name);
    const info = rt.ops.info(oid);
    if (info.verb !== verb) continue;
    out.push({ oid, status: info.status, states: info.history.filter((h) => h.kind === 'state').map((h) => h.value) });
  }
  return out;
}
