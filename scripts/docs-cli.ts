// Writes docs/cli-conventions.md from src/cli/conventions.ts and the command tree,
// and the exit-code table of docs/troubleshooting.md.
//   npm run docs:cli
import { readFileSync, writeFileSync } from 'node:fs';
import {
  CONVENTIONS_DOC,
  conventionsMarkdown,
  TROUBLESHOOTING_DOC,
  troubleshootingMarkdown,
} from '../src/cli/conventions-doc.js';
import { buildProgram } from '../src/cli/main.js';

const file = (path: string) => new URL(`../${path}`, import.meta.url);
writeFileSync(file(CONVENTIONS_DOC), conventionsMarkdown(buildProgram()));
console.log(`wrote ${CONVENTIONS_DOC}`);
writeFileSync(
  file(TROUBLESHOOTING_DOC),
  troubleshootingMarkdown(readFileSync(file(TROUBLESHOOTING_DOC), 'utf8')),
);
console.log(`wrote ${TROUBLESHOOTING_DOC}`);
