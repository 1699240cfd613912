/**
 * The deflate container (./container.ts) built and opened on the executor's pool: the deflate
 * or inflate of a large frame runs as a native executor job off the JS thread (or on the
 * TypeScript twin), the header and CRCs on the JS thread. The container bytes are the same as
 * deflateFrame's: the job calls the zlib node:zlib uses, with the same level and framing.
 */
import type { Executor } from '../async/executor.js';
import { jobFailed } from '../errors.js';
import { CONTAINER_LEVEL, checkInflated, containerBody, notInflating, wrapDeflated } from './container.js';

/** Wraps a finished frame, deflating it on `executor`. */
export async function deflateFrameAsync(frame: Uint8Array, executor: Executor): Promise<Uint8Array> {
  const r = await executor.run('deflate', frame, { level: CONTAINER_LEVEL, format: 'raw' });
  if (!r.ok || r.output === undefined) throw jobFailed(r.ticket, r.status);
  return wrapDeflated(frame.length, r.output);
}

/** Unwraps a container into the raw frame, bounded by `maxBytes`, inflating on `executor`. */
export async function inflateFrameAsync(bytes: Uint8Array, maxBytes: number, executor: Executor): Promise<Uint8Array> {
  const { raw, body } = containerBody(bytes, maxBytes);
  const r = await executor.run('inflate', body, { format: 'raw', maxOutputBytes: Math.max(raw, 1) });
  if (!r.ok || r.output === undefined) throw notInflating();
  return checkInflated(r.output, raw);
}
