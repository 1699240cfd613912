import { engineCrashSuite } from './engine-crash-suite.js';

// The long version of engine-crash.test.ts: 200 kills, taking turns over the I/O modes.
engineCrashSuite(200, 0x5eed);
