#!/usr/bin/env node
// Thin launcher: the bundled CLI lives in dist/cli/ (built by `npm install` through `prepare`, scripts/bundle.mjs).
import { main } from '../dist/cli/main.js';

// `odp … | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
process.exitCode = await main(process.argv);
