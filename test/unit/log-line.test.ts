// `odp logs --level/--grep`: Odoo's lines read for their level, in both of the
// formats Odoo writes (logging_json's records, the plain format), and filtered.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { passes, readLogLine } from '../../src/logs/log-line.js';

const json = JSON.stringify({
  asctime: '2026-12-07 10:42:01,123',
  pid: 7,
  levelname: 'ERROR',
  dbname: 'acme',
  name: 'odoo.sql_db',
  message: 'bad query: SELECT 1/0',
  request_id: 'r1',
});

test('a logging_json record: its level and fields; a plain Odoo line: its level; others: none', () => {
  const j = readLogLine(json);
  assert.equal(j.level, 'error');
  assert.equal(j.fields?.message, 'bad query: SELECT 1/0');
  // Docker's timestamp before it (--timestamps) changes nothing.
  assert.equal(readLogLine(`2026-12-07T10:42:01.123456789Z ${json}`).level, 'error');
  assert.equal(readLogLine('2026-12-07 10:42:01,123 7 WARNING acme odoo.http: slow').level, 'warning');
  assert.equal(readLogLine('2026-12-07 10:42:01,123 7 INFO ? odoo: starting').level, 'info');
  assert.equal(readLogLine('{"status":200,"uri":"/web"}').level, undefined); // nginx's access log
  assert.equal(readLogLine('{not json').level, undefined);
  assert.equal(readLogLine('[1, 2]').fields, undefined);
  assert.equal(readLogLine('Traceback (most recent call last):').level, undefined);
  assert.equal(readLogLine(JSON.stringify({ levelname: 'WARN' })).level, 'warning');
  assert.equal(readLogLine(JSON.stringify({ levelname: 'NOTICE' })).level, undefined);
});

test('--level keeps that level and above, and drops lines without one; --grep ignores case', () => {
  const lines = [
    json,
    '2026-12-07 10:42:01,123 7 WARNING acme odoo.http: slow',
    '2026-12-07 10:42:01,123 7 CRITICAL acme odoo: down',
    '2026-12-07 10:42:01,123 7 INFO acme odoo: fine',
    'Traceback (most recent call last):',
  ].map(readLogLine);
  const kept = (f: Parameters<typeof passes>[1]) => lines.filter((l) => passes(l, f)).map((l) => l.level);
  assert.deepEqual(kept({ level: 'error' }), ['error', 'critical']);
  assert.deepEqual(kept({ level: 'warning' }), ['error', 'warning', 'critical']);
  assert.deepEqual(kept({ grep: 'SELECT 1/0' }), ['error']);
  assert.deepEqual(kept({ grep: 'slow', level: 'error' }), []);
  assert.equal(kept({}).length, 5);
});
