// The alerts shipped in monitoring/alerts.yml, checked and unit-tested by
// Prometheus' own promtool (Debian's `prometheus` package), and held to the
// metrics odp itself exposes: a rule on a series odp never writes would never fire.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { startReceiver } from '../../src/metrics/statsd-receiver.js';
import { scheduleMetrics } from '../../src/server/metrics.js';

const run = promisify(execFile);
const dir = join(import.meta.dirname, '../../monitoring');

interface RuleFile {
  groups: { name: string; rules: { alert: string; expr: string }[] }[];
}
interface TestFile {
  tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

const rules = async () => parse(await readFile(join(dir, 'alerts.yml'), 'utf8')) as RuleFile;

test('promtool finds the rules valid, and every test of them passes', async () => {
  const check = await run('promtool', ['check', 'rules', 'alerts.yml'], { cwd: dir });
  assert.match(check.stdout, /SUCCESS: \d+ rules found/);
  // Exit 1 on any failing case: execFile rejects, with promtool's report.
  const t = await run('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: dir });
  assert.match(t.stdout, /SUCCESS/);
});

test('every alert has a case where it fires', async () => {
  const alerts = (await rules()).groups.flatMap((g) => g.rules.map((r) => r.alert));
  const tests = parse(await readFile(join(dir, 'alerts.test.yml'), 'utf8')) as TestFile;
  const fired = new Set(
    tests.tests.flatMap((t) =>
      (t.alert_rule_test ?? []).filter((c) => c.exp_alerts.length > 0).map((c) => c.alertname),
    ),
  );
  assert.deepEqual(
    alerts.filter((a) => !fired.has(a)),
    [],
  );
  assert.ok(alerts.length >= 16);
});

test("the rules name odp's own metrics as odp writes them", async () => {
  const exprs = (await rules()).groups.flatMap((g) => g.rules.map((r) => r.expr)).join('\n');
  const named = (prefix: string) => new Set(exprs.match(new RegExp(`\\b${prefix}[a-z_]+`, 'g')) ?? []);

  const schedule = scheduleMetrics({ status: async () => [] });
  const written = (await schedule.registry.getMetricsAsJSON()).map((m) => m.name);
  for (const name of named('odp_scheduled_job_')) assert.ok(written.includes(name), `${name} is not written`);

  const receiver = await startReceiver({ statsdPort: 0, httpPort: 0 });
  try {
    const histograms = (await receiver.registry.getMetricsAsJSON()).map((m) => m.name);
    for (const name of named('odoo_http_')) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      assert.ok(histograms.includes(base), `${name} is not written`);
    }
  } finally {
    await receiver.close();
  }
});
