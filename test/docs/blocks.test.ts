/**
 * Every ```js block in README.md and docs/*.md runs as written: each is saved as an ES module
 * inside the package (so `import ... from 'cep'` resolves to this package's dist/ by name) and
 * run by node in an empty temporary folder (so relative paths such as ./cep-data land there).
 * A block that is deliberately a fragment has `<!-- fragment: why -->` on the line before it.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const scratch = fs.mkdtempSync(path.join(root, '.docs-run-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

interface Block {
  file: string;
  line: number;
  code: string;
}

/** The ```js blocks of a markdown file, with the line each starts on; fragments left out. */
function jsBlocks(file: string): { run: Block[]; fragments: number } {
  const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
  const run: Block[] = [];
  let fragments = 0;
  for (let i = 0; i < lines.length; i++) {
    const fence = /^(`{3,})(\S*)/.exec(lines[i]!);
    if (!fence) continue;
    const close = lines.findIndex((l, j) => j > i && l.startsWith(fence[1]!) && l.trim() === fence[1]);
    if (close < 0) throw new Error(`${file}:${i + 1}: a code fence that never closes`);
    const inner = lines.slice(i + 1, close).findIndex((l) => /^`{3,}\w/.test(l));
    if (inner >= 0) throw new Error(`${file}:${i + 2 + inner}: a fence opened inside the block of line ${i + 1} (did that one close?)`);
    if (fence[2] === 'js') {
      if (/^<!-- fragment: .+ -->$/.test(lines[i - 1]?.trim() ?? '')) fragments++;
      else run.push({ file, line: i + 1, code: lines.slice(i + 1, close).join('\n') });
    }
    i = close;
  }
  return { run, fragments };
}

const docs = [
  'README.md',
  ...fs
    .readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const blocks = docs.flatMap((f) => jsBlocks(f).run);

function runBlock(block: Block): Promise<{ code: number | null; out: string }> {
  const file = path.join(scratch, `${block.file.replace(/[/.]/g, '_')}_${block.line}.mjs`);
  fs.writeFileSync(file, `${block.code}\n`);
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cep-docs-'));
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      fs.rmSync(cwd, { recursive: true, force: true });
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

describe('code blocks in README.md and docs/', () => {
  it('every fence closes and the docs hold blocks to run', () => {
    expect(blocks.length).toBeGreaterThan(5);
  });

  it.each(blocks.map((b) => [`${b.file}:${b.line}`, b] as const))(
    '%s runs',
    async (_name, block) => {
      const r = await runBlock(block);
      expect(r.code, r.out).toBe(0);
    },
    70_000,
  );
});
