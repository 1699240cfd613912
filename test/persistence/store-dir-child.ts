/** Opens a flatfile store at each path given and prints what happened, one line each (store-dir test, run on a read-only mount). */
import { openFlatfileStore } from '../../src/persistence/flatfile/index.js';

for (const dir of process.argv.slice(2)) {
  try {
    await openFlatfileStore(dir).close();
    console.log('opened');
  } catch (e) {
    console.log((e as { code?: string }).code ?? String(e));
  }
}
