// Writes docs/reference/: the fields of platform.yaml and projects/<name>.yaml from
// their schemas, and the environment variables odp reads.
//   npm run docs:config
import { mkdirSync, writeFileSync } from 'node:fs';
import { referenceDocs } from '../src/cli/reference-doc.js';

const root = new URL('../', import.meta.url);
for (const [file, text] of Object.entries(referenceDocs(root))) {
  mkdirSync(new URL('.', new URL(file, root)), { recursive: true });
  writeFileSync(new URL(file, root), text);
  console.log(`wrote ${file}`);
}
