// Bundles the CLI into dist/cli/ (docs/decisions/0052): Node then reads a few
// files instead of some 250 (zod alone is 95 modules, yaml 73). `await import()`
// stays a separate chunk, so `odp --help` still loads only the registrations.
// commander, zod, yaml and picocolors (one small file, painting progress from the
// first line: docs/decisions/0068) are bundled; every other dependency stays external,
// loaded from node_modules as before (native modules, dockerode's optional
// bits, the AWS SDK, acme-client's own axios). Type-checking is tsc's job
// (`npm run build` runs it first); this only transpiles.
//
//   node scripts/bundle.mjs [OUTDIR]      default dist/cli
import { build } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../', import.meta.url));

/** The packages inside the bundle: what `odp --help` and `odp check` load. */
export const BUNDLED = ['commander', 'zod', 'yaml', 'picocolors'];

/**
 * Writes the bundle to `outdir` (emptied first) with `meta.json`, esbuild's
 * record of which sources each output file holds. Chunks sit in `outdir` itself:
 * code that finds files relative to `import.meta.url` (images/, package.json)
 * expects to be two levels below the repository, as dist/cli/ is.
 */
export async function bundle(outdir = join(repo, 'dist/cli')) {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
  const external = Object.keys(pkg.dependencies)
    .filter((d) => !BUNDLED.includes(d))
    .flatMap((d) => [d, `${d}/*`]);
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: repo,
    entryPoints: { main: 'src/cli/main.ts' },
    outdir: resolve(outdir),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external,
    chunkNames: '[name]-[hash]',
    sourcemap: true,
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
    // Bundled CommonJS (yaml, commander) requires Node's built-in modules.
    banner: {
      js: "import { createRequire as __odpRequire } from 'node:module';\nconst require = __odpRequire(import.meta.url);",
    },
  });
  writeFileSync(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
  return result.metafile;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // The tsc build of earlier versions wrote dist/<dir>/*.js: nothing of it may be loaded by mistake.
  if (!process.argv[2]) rmSync(join(repo, 'dist'), { recursive: true, force: true });
  await bundle(process.argv[2]);
}
