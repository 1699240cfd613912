// The machine a benchmark ran on, recorded beside its figures.
import os from 'node:os';
import { readFileSync } from 'node:fs';

export function machine() {
  const cpus = os.cpus();
  let flags = [];
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const line = info.split('\n').find((l) => l.startsWith('flags'));
    const wanted = ['sse4_2', 'pclmulqdq', 'avx2', 'avx512f', 'avx512vl', 'vpclmulqdq'];
    flags = line
      ? line
          .split(':')[1]
          .trim()
          .split(/\s+/)
          .filter((f) => wanted.includes(f))
      : [];
  } catch {
    // not Linux: no flags to report
  }
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    arch: process.arch,
    flags,
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    date: new Date().toISOString(),
  };
}
