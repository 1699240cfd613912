import { afterEach, describe, expect, it } from 'vitest';
import { doctorReport, formatDoctor } from '../../src/cli/doctor.js';
import { nativeInfo } from '../../src/index.js';
import { createReactor } from '../../src/async/reactor.js';
import { availableBackends, probeBackends, selectBackend } from '../../src/async/select.js';

const saved = process.env.CEP_IO_REACTOR_BACKEND;
afterEach(() => {
  if (saved === undefined) delete process.env.CEP_IO_REACTOR_BACKEND;
  else process.env.CEP_IO_REACTOR_BACKEND = saved;
});

describe('reactor backend selection', () => {
  it('nativeInfo lists the backends this machine runs, best first', () => {
    const info = nativeInfo();
    expect(info.reactors).toEqual(availableBackends());
    expect(info.reactors.at(-1)).toBe('portable');
    if (info.backend === 'fallback') expect(info.reactors).toEqual(['portable']);
  });

  it('auto picks the first available backend and says what it skipped', () => {
    delete process.env.CEP_IO_REACTOR_BACKEND;
    const sel = selectBackend();
    expect(sel.backend).toBe(availableBackends()[0]);
    expect(sel.reason).toMatch(/^auto/);
    const unavailable = probeBackends().filter((p) => !p.available);
    for (const p of unavailable) expect(sel.reason).toContain(p.name);
  });

  it('honours CEP_IO_REACTOR_BACKEND and refuses bad values with a code', () => {
    process.env.CEP_IO_REACTOR_BACKEND = 'portable';
    expect(selectBackend()).toEqual({ backend: 'portable', reason: 'requested (CEP_IO_REACTOR_BACKEND=portable)' });
    expect(createReactor().backend).toBe('portable');
    process.env.CEP_IO_REACTOR_BACKEND = 'kqueue';
    expect(() => selectBackend()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => selectBackend('nope' as 'auto')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  it('an unavailable backend is a clear error', () => {
    const missing = probeBackends().find((p) => !p.available);
    if (missing === undefined) return; // every backend runs here
    expect(() => createReactor({ backend: missing.name as 'uring' })).toThrow(expect.objectContaining({ code: 'ERR_REACTOR_UNAVAILABLE' }));
  });

  it('cep doctor shows which reactor runs and why', () => {
    delete process.env.CEP_IO_REACTOR_BACKEND;
    const report = doctorReport();
    expect(report.reactor).toEqual(selectBackend());
    const text = formatDoctor(report);
    expect(text).toContain(`reactor   ${selectBackend().backend} — auto`);
    for (const p of probeBackends()) expect(text).toContain(p.name);
  });
});
