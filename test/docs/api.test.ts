/**
 * docs/api.md documents every export of src/index.ts, values and types. The convention (stated
 * at the top of api.md): an export is documented by a heading whose text starts with the name in
 * backticks: "### `crc32c(data, seed?)`", "### `Cell`", optionally "### `new Name(...)`".
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const indexSource = fs.readFileSync(path.join(root, 'src', 'index.ts'), 'utf8');
const apiDoc = fs.readFileSync(path.join(root, 'docs', 'api.md'), 'utf8');

/** Every name an `export { ... } from` / `export type { ... } from` statement exports (`type ` dropped, `as` renames to the exported name). */
function exportedNames(source: string): string[] {
  const names: string[] = [];
  for (const m of source.matchAll(/^export\s+(?:type\s+)?\{([^}]*)\}\s*from\s*['"][^'"]+['"];?/gm)) {
    for (const raw of m[1]!.split(',')) {
      const spec = raw.trim().replace(/^type\s+/, '');
      if (spec.length === 0) continue;
      const parts = spec.split(/\s+as\s+/);
      names.push(parts[parts.length - 1]!.trim());
    }
  }
  return names;
}

/** Names documented by a heading that starts with them in backticks (`## `..`###### ` level). */
function documentedNames(markdown: string): Set<string> {
  const out = new Set<string>();
  let fence = false;
  for (const line of markdown.split('\n')) {
    if (/^```/.test(line)) fence = !fence;
    if (fence) continue;
    const m = /^#{2,6}\s+`(?:new\s+)?([A-Za-z_$][\w$]*)(?=[`(<:\s])/.exec(line);
    if (m) out.add(m[1]!);
  }
  return out;
}

function undocumented(source: string, markdown: string): string[] {
  const documented = documentedNames(markdown);
  return exportedNames(source).filter((n) => !documented.has(n));
}

describe('docs/api.md', () => {
  it('reads the export list of src/index.ts (values and types)', () => {
    const names = exportedNames(indexSource);
    expect(new Set(names).size).toBe(names.length);
    // every value export of test/exports.txt is in the parsed list, and types too
    const values = fs
      .readFileSync(path.join(root, 'test', 'exports.txt'), 'utf8')
      .split('\n')
      .filter(Boolean);
    for (const v of values) expect(names, v).toContain(v);
    expect(names).toEqual(expect.arrayContaining(['Cell', 'CellInit', 'RuntimeOptions', 'PersistStoreOptions', 'StoreOptions', 'ProxyAdapter']));
    expect(names).not.toContain('StoreOptions as PersistStoreOptions');
    expect(names.length).toBeGreaterThan(values.length);
  });

  it('documents every export of src/index.ts', () => {
    expect(undocumented(indexSource, apiDoc), 'exports of src/index.ts without a heading in docs/api.md').toEqual([]);
  });

  it('names an export whose heading is missing', () => {
    const without = apiDoc.replace(/^### `Cell`$/m, '### Cells, the class');
    expect(without).not.toBe(apiDoc);
    expect(undocumented(indexSource, without)).toEqual(['Cell']);
    const renamed = apiDoc.replace(/^### `PersistStoreOptions`$/m, '### `StoreOptions` of the persistent runtime');
    expect(undocumented(indexSource, renamed)).toEqual(['PersistStoreOptions']);
    // a new export in index.ts without a heading is named too
    const added = `${indexSource}\nexport { type Undocumented as AlsoUndocumented, somethingNew } from './x.js';\n`;
    expect(undocumented(added, apiDoc)).toEqual(['AlsoUndocumented', 'somethingNew']);
  });

  it('does not count a name that only appears inside a code block or mid-heading', () => {
    expect(documentedNames('```ts\n### `Hidden`\n```\n### About `Later`\n#### `Shown(x)`\n### `new Made()`')).toEqual(new Set(['Shown', 'Made']));
  });
});
