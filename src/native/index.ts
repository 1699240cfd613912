/**
 * The one loader: returns the typed native binding, or the pure-TS fallback behind the same
 * interface. It falls back only when no addon is there ("not found") or when asked to
 * (CEP_NATIVE=0); an addon that exists but fails to load is an error, never hidden.
 */
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeLoadFailed } from '../errors.js';
import type { Binding } from './binding.js';
import { fallbackBinding } from './fallback/index.js';

export type { Binding, Blake3State, HashBinding } from './binding.js';

export interface NativeInfo {
  backend: 'native' | 'fallback';
  /** Why the fallback is in use (absent when native loaded). */
  reason?: string;
  /** CPU features the native code dispatches to (empty for the fallback). */
  cpu: string[];
  /** The addon file that loaded, when native. */
  path?: string;
  /** Reactor backends this process can run, best first ('uring', 'epoll', 'portable'). */
  reactors: string[];
}

export interface LoadOptions {
  /** false forces the fallback. Default: true unless the CEP_NATIVE environment variable is '0'. */
  native?: boolean;
  /** An explicit addon file (or package folder for node-gyp-build). Default: CEP_NATIVE_PATH, else this package. */
  path?: string;
}

const requireNative = createRequire(import.meta.url);
// src/native/index.ts and dist/native/index.js both sit two folders below the package root.
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function isNotFound(error: unknown, target: string): boolean {
  const e = error as NodeJS.ErrnoException | undefined;
  if (!e || typeof e.message !== 'string') return false;
  if (e.message.startsWith('No native build was found')) return true; // node-gyp-build
  return e.code === 'MODULE_NOT_FOUND' && e.message.includes(target);
}

function fallback(reason: string): { binding: Binding; info: NativeInfo } {
  return { binding: fallbackBinding, info: { backend: 'fallback', reason, cpu: [], reactors: ['portable'] } };
}

export function loadBinding(options: LoadOptions = {}): { binding: Binding; info: NativeInfo } {
  const native = options.native ?? process.env.CEP_NATIVE !== '0';
  if (!native) return fallback(options.native === false ? 'native disabled by option' : 'CEP_NATIVE=0');
  const explicit = options.path ?? process.env.CEP_NATIVE_PATH;
  const target = explicit ? resolve(explicit) : packageRoot;
  let binding: Binding;
  let loadedFrom: string;
  try {
    if (explicit && target.endsWith('.node')) {
      binding = requireNative(target) as Binding;
      loadedFrom = target;
    } else {
      const gypBuild = requireNative('node-gyp-build') as { (dir: string): Binding; resolve(dir: string): string };
      loadedFrom = gypBuild.resolve(target);
      binding = requireNative(loadedFrom) as Binding;
    }
  } catch (error) {
    if (isNotFound(error, target)) return fallback(`no native addon found in ${target}`);
    throw nativeLoadFailed(target, error);
  }
  const reactors = [
    ...binding
      .reactorProbe()
      .filter((p) => p.available)
      .map((p) => p.name),
    'portable',
  ];
  return { binding, info: { backend: 'native', cpu: binding.cpuFeatures(), path: loadedFrom, reactors } };
}

const loaded = loadBinding();

/** The binding this process uses: native when it loaded, else the fallback. */
export const binding: Binding = loaded.binding;

/** Which backend loaded, why, and the CPU features native code dispatches to. */
export function nativeInfo(): NativeInfo {
  return { ...loaded.info, cpu: loaded.info.backend === 'native' ? binding.cpuFeatures() : [] };
}
