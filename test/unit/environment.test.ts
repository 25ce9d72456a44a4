// No hidden configuration: every environment variable src/ reads is listed in
// the "Environment:" section of `odp --help` (src/cli/environment.ts), so a new
// variable cannot stay undocumented.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildProgram } from '../../src/cli/main.js';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

const sources = readdirSync(SRC, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => readFileSync(join(SRC, f), 'utf8'));

const NAME = '[A-Z][A-Z0-9_]*';
/** Not the left side of an assignment: `process.env.X ??= 'y'` sets X, it configures nothing. */
const READ = '(?!\\s*(?:\\?\\?|\\|\\||&&)?=(?!=))';
/** `process.env`, or a variable or parameter named `env` (a ProcessEnv handed down), not `x.env`. */
const ENV = '(?:\\bprocess\\.|(?<![\\w.]))env';

/** Names read as `process.env.X`, `env.X`, `env?.X`, or `env[C]` / `env['X']` with `const C = 'X'` in src/. */
function variablesRead(texts: string[]): Set<string> {
  const constants = new Map<string, string>();
  for (const t of texts) {
    for (const m of t.matchAll(new RegExp(`\\bconst (${NAME}) = '(${NAME})'`, 'g')))
      constants.set(m[1]!, m[2]!);
  }
  const names = new Set<string>();
  for (const t of texts) {
    for (const m of t.matchAll(new RegExp(`${ENV}\\??\\.(${NAME})\\b${READ}`, 'g'))) names.add(m[1]!);
    for (const m of t.matchAll(new RegExp(`${ENV}\\[\\s*(?:'(${NAME})'|(${NAME}))\\s*\\]${READ}`, 'g'))) {
      const name = m[1] ?? constants.get(m[2]!);
      assert.ok(name, `env[${m[2]}]: no string constant ${m[2]} in src/`);
      names.add(name);
    }
  }
  return names;
}

function rootHelp(): string {
  const program = buildProgram();
  let text = '';
  program.configureOutput({ writeOut: (s) => (text += s) });
  program.outputHelp();
  return text;
}

test('the scan finds variables read every way src/ reads them', () => {
  const read = variablesRead(sources);
  // process.env.X, process.env[CONSTANT], a ProcessEnv parameter's env.X, and not an assignment.
  for (const name of ['ODP_DIR', 'ODP_PASSPHRASE', 'ODP_KEY_FILE', 'DOCKER_HOST', 'ODP_REGISTRY_USER'])
    assert.ok(read.has(name), name);
  assert.ok(
    !read.has('AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'),
    'odp sets it; it reads nothing from it',
  );
});

test('odp --help lists every environment variable odp reads', () => {
  const help = rootHelp();
  const at = help.indexOf('\nEnvironment:\n');
  assert.ok(at > 0, 'odp --help has an Environment: section');
  const listed = new Set([...help.slice(at).matchAll(/^ {2}([A-Z][A-Z0-9_]*) /gm)].map((m) => m[1]));
  const hidden = [...variablesRead(sources)].filter((name) => !listed.has(name)).sort();
  assert.deepEqual(hidden, [], 'read in src/ but missing from ENVIRONMENT in src/cli/environment.ts');
});
