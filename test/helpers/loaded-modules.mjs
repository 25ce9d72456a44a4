// `node --import ./loaded-modules.mjs …` records every module the process loads
// into the file named by $ODP_LOADED_MODULES, one URL or path a line: ES modules
// as they are resolved (a hook on the loader thread, which writes synchronously
// so nothing is lost at exit), CommonJS ones from require's cache at exit
// (dockerode and friends load their dependencies with require).
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const out = process.env.ODP_LOADED_MODULES;
if (out) {
  register(new URL('./loaded-modules-hooks.mjs', import.meta.url), { data: { out } });
  const require = createRequire(import.meta.url);
  process.on('exit', () => appendFileSync(out, `${Object.keys(require.cache).join('\n')}\n`));
}
