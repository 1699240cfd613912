// The layer rules of src/ (docs/architecture.md): each layer imports only the layers below it,
// type imports included. `npm run lint:layers` checks
// them (the folder rules exclude any import circle between layers); `npm test` runs it first.
//
//   1 errors.ts   2 native/   3 hash/, async/   4 kernel/ (the tree)   5 serialization/
//   6 beat/   7 organs/, persistence/   8 runtime/   9 index.ts, internal.ts, cli/
const LAYERS = [
  ['errors', '^src/errors\\.ts$'],
  ['native', '^src/native/'],
  ['hash', '^src/hash/'],
  ['async', '^src/async/'],
  ['kernel', '^src/kernel/'],
  ['serialization', '^src/serialization/'],
  ['beat', '^src/beat/'],
  ['organs', '^src/organs/'],
  ['persistence', '^src/persistence/'],
  ['runtime', '^src/runtime/'],
];
// What each layer may import besides itself (everything strictly below it).
const BELOW = {
  errors: [],
  native: ['errors'],
  hash: ['errors', 'native'],
  async: ['errors', 'native'],
  kernel: ['errors', 'native', 'hash', 'async'],
  serialization: ['errors', 'native', 'hash', 'async', 'kernel'],
  beat: ['errors', 'native', 'hash', 'async', 'kernel', 'serialization'],
  organs: ['errors', 'native', 'hash', 'async', 'kernel', 'serialization', 'beat'],
  persistence: ['errors', 'native', 'hash', 'async', 'kernel', 'serialization', 'beat'],
  runtime: ['errors', 'native', 'hash', 'async', 'kernel', 'serialization', 'beat', 'organs', 'persistence'],
};
const pathOf = Object.fromEntries(LAYERS);
const any = (names) => (names.length === 0 ? '^$' : names.map((n) => pathOf[n]).join('|'));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...LAYERS.map(([name, path]) => ({
      name: `layer-${name}`,
      comment: `${name} imports only ${BELOW[name].join(', ') || 'nothing of src/'} (docs/architecture.md)`,
      severity: 'error',
      from: { path },
      to: { path: '^src/', pathNot: `${path}|${any(BELOW[name])}` },
    })),
    {
      name: 'top-only',
      comment: 'index.ts, internal.ts and cli/ are the top: nothing below imports them',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/(index|internal)\\.ts$|^src/cli/' },
    },
    {
      name: 'known-layer',
      comment: 'every module of src/ belongs to a layer (add a new folder to LAYERS)',
      severity: 'error',
      from: { path: '^src/', pathNot: `${any(Object.keys(BELOW))}|^src/(index|internal)\\.ts$|^src/cli/` },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
