// The documentation's links: every relative link of README.md and docs/ names a
// file or directory of this repository, so none leads outside it or nowhere.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pages = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => join('docs', f)),
];

test('relative links in README.md and docs/ stay in the repository and exist', () => {
  const broken: string[] = [];
  for (const page of pages) {
    // Code (fenced blocks and spans, such as the reference's patterns) holds no links.
    const text = readFileSync(join(ROOT, page), 'utf8')
      .replace(/^```[^]*?^```/gm, '')
      .replace(/`[^`\n]*`/g, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^([a-z]+:|#)/.test(target!)) continue;
      const path = resolve(ROOT, dirname(page), target!.replace(/#.*$/, ''));
      const inside = !relative(ROOT, path).startsWith('..');
      if (!inside || !existsSync(path)) broken.push(`${page}: ${target}`);
    }
  }
  assert.ok(pages.length > 10, `${pages.length} pages`);
  assert.deepEqual(broken, []);
});
