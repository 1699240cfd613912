#!/usr/bin/env node
/** The `cep` command. */
import { doctorReport, formatDoctor } from './doctor.js';
import { frameCommand } from './frame.js';
import { runCommand } from './run.js';
import { storeCommand } from './store.js';

const usage = `usage: cep <command>

commands:
  doctor [--json]   show the Node version, the backend in use and why, and the CPU features used
  frame inspect <file> [--json] [--key <hex>]   print a frame's trailer and records
  frame verify <file> [--json] [--key <hex>]    check a frame; exit 1 with its ERR_FRAME_* code if bad
  run <example> [--dir <path>] [--rate <n>] ...  run an example persisting to a store (default ./cep-data); Ctrl-C stops it
  store verify <dir>   check a store as an open would, change nothing (exit 1 when damaged)
  store repair <dir>   cut a damaged store back to its last consistent beat (cut bytes kept in <dir>/quarantine/)
  help              show this text`;

function main(argv: string[]): number | Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'doctor': {
      const report = doctorReport();
      console.log(rest.includes('--json') ? JSON.stringify(report, null, 2) : formatDoctor(report));
      return 0;
    }
    case 'frame':
      return frameCommand(
        rest,
        (s) => console.log(s),
        (s) => console.error(s),
      );
    case 'run':
      return runCommand(
        rest,
        (s) => console.log(s),
        (s) => console.error(s),
      );
    case 'store':
      return storeCommand(
        rest,
        (s) => console.log(s),
        (s) => console.error(s),
      );
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(usage);
      return 0;
    default:
      console.error(`cep: unknown command '${command}'\n\n${usage}`);
      return 2;
  }
}

void Promise.resolve(main(process.argv.slice(2))).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(`cep: ${(e as Error)?.stack ?? String(e)}`);
    process.exitCode = 1;
  },
);
