// Deep trees, 100,000 deep (`npm run test:soak`); 20,000 deep in deep.test.ts.
import { deepTreeSuite } from './deep-tree.js';

deepTreeSuite(100_000, 600_000);
