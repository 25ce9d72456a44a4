// `odp status --watch` shows a status again only when it changed (ages aside),
// as JSON lines with --json, until it is stopped.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { watchStatus } from '../../src/cli/status-watch.js';
import type { InstanceStatus } from '../../src/ops/instance/instances.js';

const status = (state: string, age: number): InstanceStatus[] => [
  {
    project: 'acme',
    instance: 'prod',
    domain: 'acme.example.ch',
    state: 'running',
    services: [
      {
        name: 'odoo',
        replica: 1,
        image: 'acme/odoo:1.0.0',
        state,
        health: 'healthy',
        ageSeconds: age,
        ports: {},
      },
    ],
  },
];

/** Watches a status that reads as `states` in turn (then stops), at a 1 ms interval; what it printed. */
async function watched(states: string[], json: boolean): Promise<string> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const stop = new AbortController();
  let n = 0;
  const read = async () => {
    const s = states[n]!;
    if (++n === states.length) stop.abort();
    return status(s, n * 7);
  };
  const code = await watchStatus(read, async (all) => all[0]!.services.map((s) => `odoo ${s.state}`), {
    json,
    intervalMs: 1,
    stream: out as unknown as NodeJS.WriteStream,
    signal: stop.signal,
  });
  assert.equal(code, 0);
  return text;
}

test('off a terminal: a stamped view for each change only, not for a unit that only got older', async () => {
  const text = await watched(['created', 'created', 'running', 'running', 'exited'], false);
  const views = text.split('\n').filter((l) => l.startsWith('odoo '));
  assert.deepEqual(views, ['odoo created', 'odoo running', 'odoo exited']);
  assert.equal(text.match(/^\[\d{4}-\d\d-\d\dT[\d:]+Z\]$/gm)?.length, 3);
});

test('with --json: one JSON line per change, with its time', async () => {
  const text = await watched(['created', 'running', 'running'], true);
  const lines = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { at: string; instances: InstanceStatus[] });
  assert.deepEqual(
    lines.map((l) => l.instances[0]!.services[0]!.state),
    ['created', 'running'],
  );
  assert.ok(lines.every((l) => /Z$/.test(l.at)));
});
