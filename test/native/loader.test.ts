import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { doctorReport, formatDoctor } from '../../src/cli/doctor.js';
import { nativeInfo } from '../../src/index.js';
import { loadBinding } from '../../src/native/index.js';

const root = new URL('../..', import.meta.url).pathname;
const cli = join(root, 'dist/cli/cep.js');

describe('native loader', () => {
  it('runs the backend this project was asked for', () => {
    // npm test builds the addon first, so the native project must really be native.
    const info = nativeInfo();
    expect(info.backend).toBe(process.env.CEP_NATIVE === '0' ? 'fallback' : 'native');
    if (info.backend === 'native') {
      expect(info.reason).toBeUndefined();
      expect(info.path).toMatch(/\.node$/);
      expect(Array.isArray(info.cpu)).toBe(true);
    } else {
      expect(info.reason).toBe('CEP_NATIVE=0');
      expect(info.cpu).toEqual([]);
    }
  });

  it('falls back when told to', () => {
    const { info } = loadBinding({ native: false });
    expect(info).toEqual({ backend: 'fallback', reason: 'native disabled by option', cpu: [], reactors: ['portable'] });
  });

  it('falls back, saying why, when no addon is found', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cep-empty-'));
    const { info } = loadBinding({ native: true, path: dir });
    expect(info.backend).toBe('fallback');
    expect(info.reason).toContain(dir);
    const missingFile = loadBinding({ native: true, path: join(dir, 'missing.node') });
    expect(missingFile.info.backend).toBe('fallback');
  });

  it('rethrows an addon that exists but cannot load', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cep-bad-'));
    const file = join(dir, 'broken.node');
    writeFileSync(file, 'this is not a shared object');
    expect(() => loadBinding({ native: true, path: file })).toThrowError(expect.objectContaining({ code: 'ERR_NATIVE_LOAD' }));
  });

  it('describes itself for cep doctor', () => {
    const report = doctorReport();
    expect(report.node).toBe(process.version);
    expect(report.backend).toBe(nativeInfo().backend);
    expect(formatDoctor(report)).toContain(`backend   ${report.backend}`);
  });

  it('cep doctor runs as a command and honours CEP_NATIVE', () => {
    for (const mode of ['0', '1']) {
      const run = spawnSync(process.execPath, [cli, 'doctor', '--json'], { env: { ...process.env, CEP_NATIVE: mode }, encoding: 'utf8' });
      expect(run.status).toBe(0);
      const report = JSON.parse(run.stdout);
      const built = loadBinding({ native: true }).info.backend === 'native';
      expect(report.backend).toBe(mode === '1' && built ? 'native' : 'fallback');
      if (mode === '0') expect(report.reason).toBe('CEP_NATIVE=0');
    }
    const bad = spawnSync(process.execPath, [cli, 'frobnicate'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unknown command');
  });
});
