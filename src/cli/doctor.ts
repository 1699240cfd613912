/** `cep doctor`: what this process runs on, which backend loaded and why. */
import { nativeInfo } from '../native/index.js';

export interface DoctorReport {
  node: string;
  platform: string;
  backend: 'native' | 'fallback';
  reason?: string;
  addon?: string;
  cpu: string[];
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
  };
}

export function formatDoctor(report: DoctorReport): string {
  const lines = [
    `node      ${report.node} (${report.platform})`,
    `backend   ${report.backend}${report.reason ? ` — ${report.reason}` : ''}`,
  ];
  if (report.addon) lines.push(`addon     ${report.addon}`);
  lines.push(`cpu       ${report.cpu.length ? report.cpu.join(' ') : '(none: portable code only)'}`);
  return lines.join('\n');
}
