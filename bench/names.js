// The name shapes the benchmarks use, the ways servers name their state: integers, words
// (letters only, so CEP words), `user-<n>` and UUIDs. Deterministic: the same names every run.

export const NAME_SHAPES = ['int', 'word', 'user', 'uuid'];

/** 32 pseudo-random bits from `i` (splitmix32). */
function mix(i) {
  let z = (i + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

const hex8 = (x) => x.toString(16).padStart(8, '0');

/** Name `i` (1-based) of each shape. */
export const NAME_OF = {
  int: (i) => i,
  word: (i) => {
    let s = '';
    for (let n = i; n > 0; n = Math.floor(n / 26)) s = String.fromCharCode(97 + (n % 26)) + s;
    return `k${s}`;
  },
  user: (i) => `user-${i}`,
  uuid: (i) => {
    const a = hex8(mix(i));
    const b = hex8(mix(i + 0x1000000));
    const c = hex8(mix(i + 0x2000000));
    const d = hex8(mix(i + 0x3000000));
    return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${((parseInt(c[0], 16) & 3) | 8).toString(16)}${c.slice(1, 4)}-${c.slice(4)}${d}`;
  },
};

/** Names 1..n of `shape` (index 0 unused), flattened now: hashing flattens concatenated strings, which would otherwise land inside a measured phase. */
export function namesOf(shape, n) {
  const names = new Array(n + 1);
  for (let i = 1; i <= n; i++) names[i] = NAME_OF[shape](i);
  for (let i = 1; i <= n; i++) if (typeof names[i] === 'string') names[i].charCodeAt(0);
  return names;
}
