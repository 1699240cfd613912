// The deflate container built and opened on the executor: the same bytes as the synchronous
// path, frames that read back, and the same coded errors for damaged containers.
import { describe, expect, it } from 'vitest';
import { createExecutor, createRuntime, deflateFrameAsync, encodeBranch, inflateFrameAsync, readFrame } from '../../src/index.js';
import { deflateRawSync } from 'node:zlib';
import { inflateFrame, wrapDeflated } from '../../src/serialization/container.js';
import { nativeInfo } from '../../src/native/index.js';

const modes = nativeInfo().backend === 'native' ? [true, false] : [false];

/** A frame that announces deflate, and its container as encodeBranch writes it. */
function bigFrame(): { frame: Uint8Array; container: Uint8Array } {
  const rt = createRuntime();
  const app = rt.root.add('app');
  for (let i = 0; i < 300; i++) app.add(`c${i}`, { value: `value ${i} `.repeat(20 + (i % 7)) });
  const container = encodeBranch(app, { mode: 'snapshot', deflate: true });
  return { frame: inflateFrame(container, 1 << 24), container };
}

describe.each(modes)('frame containers on the executor (native: %s)', (native) => {
  it('deflates to the bytes deflateFrame gives and inflates back', async () => {
    const ex = createExecutor({ native });
    const { frame, container } = bigFrame();
    const packed = await deflateFrameAsync(frame, ex);
    expect(Buffer.from(packed).equals(Buffer.from(container))).toBe(true);
    expect(packed.length).toBeLessThan(frame.length / 2);
    const back = await inflateFrameAsync(packed, 1 << 24, ex);
    expect(Buffer.from(back).equals(Buffer.from(frame))).toBe(true);
    expect(readFrame(packed).cells.length).toBeGreaterThan(300);
    expect(ex.pending).toBe(0);
    await ex.close();
  });

  it('refuses damaged or oversized containers with the codes inflateFrame uses', async () => {
    const ex = createExecutor({ native });
    const packed = bigFrame().container;
    const codeOf = async (bytes: Uint8Array, max = 1 << 24) => {
      const sync = (() => {
        try {
          inflateFrame(bytes, max);
          return 'none';
        } catch (e) {
          return (e as { code: string }).code;
        }
      })();
      const viaJob = await inflateFrameAsync(bytes, max, ex).then(
        () => 'none',
        (e: { code: string }) => e.code,
      );
      expect(viaJob).toBe(sync);
      return viaJob;
    };
    expect(await codeOf(packed.subarray(0, 10))).toBe('ERR_FRAME_TRUNCATED');
    expect(await codeOf(packed, 100)).toBe('ERR_FRAME_TOO_LARGE');
    const flipped = packed.slice();
    flipped[40] ^= 1;
    expect(await codeOf(flipped)).toBe('ERR_FRAME_CRC');
    // a stream that passes its CRC but does not inflate to the announced length
    const lying = wrapDeflated(1001, deflateRawSync(new Uint8Array(1000)));
    expect(await codeOf(lying)).toBe('ERR_FRAME_MALFORMED');
    expect(await codeOf(wrapDeflated(10, new Uint8Array([1, 2, 3])))).toBe('ERR_FRAME_MALFORMED');
    await ex.close();
  });
});
