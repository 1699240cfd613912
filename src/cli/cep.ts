#!/usr/bin/env node
/** The `cep` command. */
import { doctorReport, formatDoctor } from './doctor.js';

const usage = `usage: cep <command>

commands:
  doctor [--json]   show the Node version, the backend in use and why, and the CPU features used
  help              show this text`;

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  switch (command) {
    case 'doctor': {
      const report = doctorReport();
      console.log(rest.includes('--json') ? JSON.stringify(report, null, 2) : formatDoctor(report));
      return 0;
    }
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

process.exitCode = main(process.argv.slice(2));
