// Deep trees, 20,000 deep (recursion overflowed the stack near 10,000); 100,000 deep in deep.soak.test.ts.
import { deepTreeSuite } from './deep-tree.js';

deepTreeSuite(20_000, 60_000);
