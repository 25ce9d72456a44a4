// `odp ARGS` for tests: in the test's own process (main(), its text output
// captured: fast, and the same code path as the binary), or spawned from the
// sources when the test needs its own environment or no terminal.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function odpInProcess(args: readonly string[]): Promise<CliRun> {
  const out = { stdout: '', stderr: '' };
  const orig = {
    stdout: process.stdout.write.bind(process.stdout),
    stderr: process.stderr.write.bind(process.stderr),
  };
  for (const name of ['stdout', 'stderr'] as const) {
    process[name].write = ((chunk: unknown, ...rest: unknown[]) => {
      if (typeof chunk === 'string') {
        out[name] += chunk;
        return true;
      }
      return (orig[name] as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
  }
  try {
    return { code: await main(['node', 'odp', ...args]), ...out };
  } finally {
    process.stdout.write = orig.stdout;
    process.stderr.write = orig.stderr;
  }
}

/** What a spawned `odp` ended with (null: killed by a signal). */
export interface SpawnedRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `odp ARGS` from the sources as its own process, detached (setsid): no terminal
 * to prompt on, as in CI. `env` is the whole environment of the child.
 */
export function odpSpawned(args: readonly string[], env: NodeJS.ProcessEnv, input = ''): Promise<SpawnedRun> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', ...args], {
      cwd: REPO,
      env,
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}
