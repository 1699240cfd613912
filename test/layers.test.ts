import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('the layers of src/ (docs/architecture.md)', () => {
  it('each layer imports only the layers below it (dependency-cruiser, .dependency-cruiser.cjs)', () => {
    const r = spawnSync(process.execPath, [join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs'), 'src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(r.stdout + r.stderr).toContain('no dependency violations found');
    expect(r.status).toBe(0);
  });

  it('nothing below the runtime names `Runtime`: the layers below take a Tree or a Heartbeat', () => {
    const below = files('src').filter((f) => !/^src\/(runtime|cli)\/|^src\/(index|internal)\.ts$/.test(f));
    expect(below.length).toBeGreaterThan(100);
    const naming = below.filter((f) => /\bRuntime\b/.test(readFileSync(join(root, f), 'utf8')));
    expect(naming).toEqual([]);
  });
});
