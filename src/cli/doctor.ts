/** `cep doctor`: what this process runs on, which backend loaded and why. */
import { nativeInfo } from '../native/index.js';
import { probeBackends, selectBackend } from '../async/select.js';

export interface DoctorReport {
  node: string;
  platform: string;
  backend: 'native' | 'fallback';
  reason?: string;
  addon?: string;
  cpu: string[];
  /** The reactor backend a runtime gets here, and why; every backend with why it can or cannot run. */
  reactor: { backend: string; reason: string } | { error: string };
  reactors: { name: string; available: boolean; reason: string }[];
}

export function doctorReport(): DoctorReport {
  const info = nativeInfo();
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    backend: info.backend,
    ...(info.reason ? { reason: info.reason } : {}),
    ...(info.path ? { addon: info.path } : {}),
    cpu: info.cpu,
    reactor: reactorChoice(),
    reactors: probeBackends(),
  };
}

function reactorChoice(): DoctorReport['reactor'] {
  try {
    return selectBackend();
  } catch (e) {
    return { error: (e as Error).message };
  }
}

export function formatDoctor(report: DoctorReport): string {
  const lines = [`node      ${report.node} (${report.platform})`, `backend   ${report.backend}${report.reason ? ` — ${report.reason}` : ''}`];
  if (report.addon) lines.push(`addon     ${report.addon}`);
  lines.push(`cpu       ${report.cpu.length ? report.cpu.join(' ') : '(none: portable code only)'}`);
  const r = report.reactor;
  lines.push(`reactor   ${'error' in r ? `none — ${r.error}` : `${r.backend} — ${r.reason}`}`);
  for (const p of report.reactors) lines.push(`          ${p.available ? '+' : '-'} ${p.name.padEnd(9)} ${p.reason}`);
  return lines.join('\n');
}
