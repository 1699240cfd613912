import { engineCrashSuite } from './engine-crash-suite.js';

// 12 kills, taking turns over the I/O modes (sync fs and every reactor backend there is); the soak
// (engine-crash.soak.test.ts) runs 200 from another seed. The CPS crash test's 200 kills cover
// the whole runtime (cps-crash.test.ts).
engineCrashSuite(12);
