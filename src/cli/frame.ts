/** `cep frame inspect|verify <file>`: a frame's trailer and records, or a pass/fail verdict. */
import { readFileSync } from 'node:fs';
import type { CepError } from '../errors.js';
import { capsNames } from '../serialization/caps.js';
import { readFrame, type Frame, type ReadOptions } from '../serialization/reader.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The printable summary of a frame: trailer fields, then one line per record. */
export function formatFrame(frame: Frame): string {
  const lines = [
    `beat        ${frame.beat}`,
    `mode        ${frame.mode}`,
    `size        ${frame.size} bytes (raw), ${frame.records.length - 1} records + trailer`,
    `caps        0x${frame.caps.toString(16).padStart(8, '0')} (${capsNames(frame.caps).join(', ')})`,
    `compression ${frame.compression}`,
    `aead        ${frame.aead}`,
    `history     payload ${frame.history.payload} beats, manifest ${frame.history.manifest} beats`,
    `root        ${hex(frame.root)}`,
    `prev root   ${hex(frame.prevRoot)}`,
    '',
    'offset     length  type              key',
  ];
  for (const r of frame.records) {
    lines.push(`${String(r.offset).padStart(8)}  ${String(r.length).padStart(7)}  ${r.type.padEnd(16)}  ${r.key}${r.sealed ? '  (sealed)' : ''}`);
  }
  return lines.join('\n');
}

/** JSON-friendly view of a frame (roots and keys in hex). */
export function frameJson(frame: Frame): unknown {
  return {
    beat: frame.beat,
    mode: frame.mode,
    size: frame.size,
    caps: frame.caps,
    capNames: capsNames(frame.caps),
    compression: frame.compression,
    aead: frame.aead,
    history: frame.history,
    root: hex(frame.root),
    prevRoot: hex(frame.prevRoot),
    records: frame.records,
  };
}

function options(args: string[]): { file?: string; json: boolean; read: ReadOptions; error?: string } {
  let file: string | undefined;
  let json = false;
  const read: ReadOptions = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--json') json = true;
    else if (a === '--key') {
      const k = args[++i] ?? '';
      if (!/^[0-9a-fA-F]{64}$/.test(k)) return { json, read, error: '--key takes 64 hex digits (a 32-byte key)' };
      read.aead = { key: Uint8Array.from(Buffer.from(k, 'hex')), cipher: 'xchacha20-poly1305' };
    } else if (a === '--max-bytes') read.maxFrameBytes = Number(args[++i]);
    else if (file === undefined) file = a;
    else return { json, read, error: `unexpected argument '${a}'` };
  }
  return { file, json, read };
}

/** Run `cep frame <sub> ...`; returns the exit status. */
export function frameCommand(args: string[], out: (s: string) => void, err: (s: string) => void): number {
  const [sub, ...rest] = args;
  if (sub !== 'inspect' && sub !== 'verify') {
    err('usage: cep frame inspect|verify <file> [--json] [--key <64 hex>] [--max-bytes <n>]');
    return 2;
  }
  const o = options(rest);
  if (o.error !== undefined || o.file === undefined) {
    err(`cep frame ${sub}: ${o.error ?? 'a frame file is required'}`);
    return 2;
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(o.file);
  } catch (e) {
    err(`cep frame ${sub}: cannot read ${o.file}: ${(e as Error).message}`);
    return 2;
  }
  let frame: Frame;
  try {
    if (o.read.aead !== undefined) {
      // the cipher is whatever the frame says: read its trailer first
      const plain = readFrame(bytes, { maxFrameBytes: o.read.maxFrameBytes });
      if (plain.aead !== 'none') o.read.aead.cipher = plain.aead;
    }
    frame = readFrame(bytes, o.read);
  } catch (e) {
    const code = (e as CepError).code ?? 'ERR_FRAME_MALFORMED';
    if (o.json) out(JSON.stringify({ ok: false, code, message: (e as Error).message }));
    else err(`${code}: ${(e as Error).message}`);
    return 1;
  }
  if (sub === 'verify') out(o.json ? JSON.stringify({ ok: true, beat: frame.beat, root: hex(frame.root) }) : `ok beat ${frame.beat} root ${hex(frame.root)}`);
  else out(o.json ? JSON.stringify(frameJson(frame), null, 2) : formatFrame(frame));
  return 0;
}
