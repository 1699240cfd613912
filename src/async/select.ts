/**
 * Reactor backend selection: an explicit choice, CEP_IO_REACTOR_BACKEND, or 'auto' (the
 * first of io_uring, epoll, portable that this process can run), with the reason recorded.
 */
import { invalidArgValue, reactorUnavailable } from '../errors.js';
import { binding, nativeInfo } from '../native/index.js';
import type { BackendProbe } from '../native/core.js';

export type ReactorBackend = 'uring' | 'epoll' | 'portable';
export type ReactorChoice = ReactorBackend | 'auto';
export const REACTOR_CHOICES: readonly ReactorChoice[] = ['uring', 'epoll', 'portable', 'auto'];

/** Every backend with whether it can run here and why (portable always can). */
export function probeBackends(): BackendProbe[] {
  const native = nativeInfo().backend === 'native';
  const probes = binding.reactorProbe().map((p) => ({ ...p }));
  if (!native) for (const p of probes) p.available = false;
  return [...probes, { name: 'portable', available: true, reason: "Node's fs and net (libuv)" }];
}

/** The backends available here, best first. */
export function availableBackends(): ReactorBackend[] {
  return probeBackends()
    .filter((p) => p.available)
    .map((p) => p.name as ReactorBackend);
}

export interface Selection {
  backend: ReactorBackend;
  reason: string;
}

/** Resolves a choice (default: CEP_IO_REACTOR_BACKEND, else 'auto') to a backend. */
export function selectBackend(choice?: ReactorChoice): Selection {
  const fromEnv = choice === undefined && process.env.CEP_IO_REACTOR_BACKEND !== undefined;
  const wanted = choice ?? ((process.env.CEP_IO_REACTOR_BACKEND || 'auto') as ReactorChoice);
  if (!REACTOR_CHOICES.includes(wanted)) {
    throw invalidArgValue(fromEnv ? 'CEP_IO_REACTOR_BACKEND' : 'reactor', `must be one of ${REACTOR_CHOICES.join(', ')} (got ${String(wanted).slice(0, 32)})`);
  }
  const probes = probeBackends();
  const source = fromEnv ? 'CEP_IO_REACTOR_BACKEND' : choice === undefined ? 'default' : 'option';
  if (wanted !== 'auto') {
    const p = probes.find((x) => x.name === wanted)!;
    if (!p.available) throw reactorUnavailable(wanted, p.reason);
    return { backend: wanted, reason: `requested (${source}=${wanted})` };
  }
  const skipped: string[] = [];
  for (const p of probes) {
    if (p.available) {
      const why = skipped.length ? `; skipped ${skipped.join('; ')}` : '';
      return { backend: p.name as ReactorBackend, reason: `auto: best available${why}` };
    }
    skipped.push(`${p.name} (${p.reason})`);
  }
  /* c8 ignore next */
  return { backend: 'portable', reason: 'auto' };
}
