// Writes docs/cli-conventions.md from src/cli/conventions.ts and the command tree.
//   npm run docs:cli
import { writeFileSync } from 'node:fs';
import { CONVENTIONS_DOC, conventionsMarkdown } from '../src/cli/conventions-doc.js';
import { buildProgram } from '../src/cli/main.js';

writeFileSync(new URL(`../${CONVENTIONS_DOC}`, import.meta.url), conventionsMarkdown(buildProgram()));
console.log(`wrote ${CONVENTIONS_DOC}`);
