/**
 * The lock tests' child: a long-lived process that takes commands on stdin, one per line, and
 * answers each on stdout (so a race round costs no process start):
 *   open <dir> <tag>  opens the store; the winner appends "<tag> <pid>" to <dir>.owners
 *                     (O_APPEND) while it holds the store, and answers `won`; a loser `lost <code> <message>`
 *   close             closes the store it holds, answers `closed`
 * It prints `ready <pid>` first (<pid> is 1 as the init of its own pid namespace).
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { openFlatfileStore, type FlatfileEngine } from '../../src/persistence/flatfile/index.js';

let store: FlatfileEngine | undefined;
const say = (line: string): void => void process.stdout.write(`${line}\n`);

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, dir, tag] = line.split(' ');
  if (cmd === 'open') {
    try {
      store = openFlatfileStore(dir!);
      fs.appendFileSync(`${dir}.owners`, `${tag} ${process.pid}\n`);
      say('won');
    } catch (e) {
      say(`lost ${(e as { code?: string }).code ?? ''} ${(e as Error).message}`.trimEnd());
    }
  } else if (cmd === 'close') {
    void store!.close().then(() => say('closed'));
    store = undefined;
  }
});
say(`ready ${process.pid}`);
