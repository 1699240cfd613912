// Runs one benchmark case in a fresh process and prints one JSON line: how many operations
// per second the case's function sustains (median of several timed rounds).
import { pathToFileURL } from 'node:url';

const [suitePath, indexText, quickFlag] = process.argv.slice(2);
const { cases } = await import(pathToFileURL(suitePath).href);
const c = cases[Number(indexText)];
const roundMs = quickFlag === 'quick' ? 60 : 250;
const rounds = quickFlag === 'quick' ? 3 : 5;

function timeIt(fn, iterations) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

try {
  const fn = await c.setup();
  // Calibrate: grow the iteration count until one round takes about roundMs.
  let iterations = 1;
  for (;;) {
    const seconds = timeIt(fn, iterations);
    if (seconds * 1000 >= roundMs / 4) {
      iterations = Math.max(1, Math.round((iterations * roundMs) / 1000 / seconds));
      break;
    }
    iterations *= 4;
  }
  const rates = [];
  for (let r = 0; r < rounds; r++) rates.push(iterations / timeIt(fn, iterations));
  rates.sort((a, b) => a - b);
  const opsPerSec = rates[rates.length >> 1];
  console.log(JSON.stringify({ ok: true, opsPerSec, bytesPerSec: c.bytes ? opsPerSec * c.bytes : undefined }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error?.message ?? error).split('\n')[0] }));
}
