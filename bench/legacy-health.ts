// The health checks as odp rendered them before docs/decisions/0050 (commit
// 98f71a8): every service checked every second, the HTTP probe through
// `head | grep`. Bench-only: it rewrites a compose file odp rendered now, so the
// two variants differ in their health checks and nothing else.
import { readFile, writeFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';

interface ComposeHealth {
  test: string[];
  interval: string;
  timeout: string;
  retries: number;
  start_period: string;
}

/** `bash -c 'exec 3<>/dev/tcp/…' `: the port and path of odp's HTTP probe, when it is one. */
function httpTarget(test: string[]): { path: string; port: number } | undefined {
  const m = /\/dev\/tcp\/127\.0\.0\.1\/(\d+) .*GET (\S+) HTTP/.exec(test[3] ?? '');
  return m ? { port: Number(m[1]), path: m[2]! } : undefined;
}

/** The former probe, `$` escaped for compose as the renderer does. */
function legacyHttpProbe(path: string, port: number): string[] {
  const request = `GET ${path} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n`;
  return [
    'CMD',
    'bash',
    '-c',
    `exec 3<>/dev/tcp/127.0.0.1/${port} && printf '${request}' >&3 && head -n1 <&3 | grep -q ' 200 '`,
  ];
}

/** The former timings: Odoo 1 s × 3 retries after 300 s; the others 1 s × 30 after 60 s. */
export function legacyHealthcheck(service: string, hc: ComposeHealth): ComposeHealth {
  const http = httpTarget(hc.test);
  const odoo = service === 'odoo';
  return {
    test: http ? legacyHttpProbe(http.path, http.port) : hc.test,
    interval: '1s',
    timeout: '3s',
    retries: odoo ? 3 : 30,
    start_period: odoo ? '300s' : '60s',
  };
}

/** Writes `to`: the compose file `from` with every health check as before. */
export async function writeLegacyComposeFile(from: string, to: string): Promise<void> {
  const doc = parse(await readFile(from, 'utf8'), { version: '1.1' }) as {
    services: Record<string, { healthcheck?: ComposeHealth }>;
  };
  for (const [name, svc] of Object.entries(doc.services)) {
    if (svc.healthcheck) svc.healthcheck = legacyHealthcheck(name, svc.healthcheck);
  }
  const text = stringify(doc, { version: '1.1', lineWidth: 0, singleQuote: true });
  await writeFile(to, `# The health checks as before docs/decisions/0050 (bench/legacy-health.ts).\n${text}`);
}
