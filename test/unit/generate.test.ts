// Generated database names must never reveal the customer (clients can list
// the cluster's databases) and never collide; passwords must be strong.
import { randomInt } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OdpError } from '../../src/errors.js';
import {
  ADJECTIVES,
  forbiddenTokens,
  generateDatabaseName,
  generatePassword,
  INTEGRATION_SUFFIX,
  isValidDatabaseName,
  normalizeForMatch,
  NOUNS,
} from '../../src/secrets/generate.js';

const DRAWS = 10_000;

/** Names already on the cluster, some as their integration form, some upper-cased. */
function existingNames(n: number): Set<string> {
  const out = new Set<string>();
  for (let i = 0; out.size < n; i++) {
    const name = generateDatabaseName({ forbidden: [], existing: out });
    out.add(i % 3 === 0 ? `${name}_integration` : i % 5 === 0 ? name.toUpperCase() : name);
  }
  return out;
}

function check(client: string, project: string, existing: ReadonlySet<string>): void {
  const tokens = forbiddenTokens([client, project]);
  const taken = new Set([...existing].map((n) => n.toLowerCase().replace(/_integration$/, '')));
  for (let i = 0; i < DRAWS; i++) {
    const name = generateDatabaseName({ forbidden: [client, project], existing });
    const flat = normalizeForMatch(name);
    for (const t of tokens) assert.ok(!flat.includes(t), `${name} contains the forbidden "${t}"`);
    assert.ok(!taken.has(name), `${name} collides with an existing name`);
    assert.match(name, /^[a-z]+_[a-z]+_\d{4}$/);
    assert.ok(isValidDatabaseName(name) && (name + INTEGRATION_SUFFIX).length <= 63);
  }
}

test('word lists: a few hundred lower-case words', () => {
  assert.ok(ADJECTIVES.length >= 150 && NOUNS.length >= 150);
  for (const w of [...ADJECTIVES, ...NOUNS]) assert.match(w, /^[a-z]{2,10}$/);
});

test('forbidden tokens: whole names and words of 3+ characters, separators ignored', () => {
  assert.deepEqual(forbiddenTokens(['Neomedical SA', 'neomedical']), ['neomedicalsa', 'neomedical']);
  assert.deepEqual(forbiddenTokens(['Happy Tiger']).sort(), ['happy', 'happytiger', 'tiger']);
  assert.deepEqual(forbiddenTokens(['Café-Zürich A.G.']).sort(), ['cafe', 'cafezurichag', 'zurich']);
});

test(`${DRAWS} names for Neomedical SA / neomedical, against 1000 existing names`, () => {
  check('Neomedical SA', 'neomedical', existingNames(1000));
});

test(`${DRAWS} names for adversarial customers made of our own words`, () => {
  const existing = existingNames(1000);
  check('Happy Tiger', 'happy-tiger', existing);
  check('Sunny Garden AG', 'sun', existing);
  check('Ant & Co.', 'ant', existing); // "ant" hides in giant, elegant, pleasant, …
  check('Red Oak Holdings', 'redoak', existing); // "red" hides in tired, ordered, …
  check('Star.Moon_Rock-Wave', 'mountain', existing);
});

test('a name taken as x_integration is taken as x too', () => {
  // A random source that always draws the first words and 1000.
  const zero = () => 0;
  const first = generateDatabaseName({ forbidden: [], existing: new Set(), random: zero });
  assert.equal(first, `${ADJECTIVES[0]}_${NOUNS[0]}_1000`);
  let calls = 0;
  const thenOther = (max: number) => (calls++ < 3 ? 0 : Math.min(1, max - 1));
  const second = generateDatabaseName({
    forbidden: [],
    existing: new Set([`${first}_integration`]),
    random: thenOther,
  });
  assert.notEqual(second, first);
});

test('with a tiny name space, draws avoid every taken name in any of its forms', () => {
  // 3 adjectives × 3 nouns × 3 numbers = 27 possible names; 24 are taken.
  const small = (max: number) => randomInt(Math.min(max, 3));
  const all = new Set<string>();
  for (const a of ADJECTIVES.slice(0, 3))
    for (const n of NOUNS.slice(0, 3)) for (const d of [1000, 1001, 1002]) all.add(`${a}_${n}_${d}`);
  const free = [...all].slice(0, 3);
  const existing = new Set(
    [...all].slice(3).map((n, i) => (i % 3 === 0 ? `${n}_integration` : i % 3 === 1 ? n.toUpperCase() : n)),
  );
  for (let i = 0; i < 1000; i++) {
    assert.ok(free.includes(generateDatabaseName({ forbidden: [], existing, random: small })));
  }
});

test('with a tiny name space, forbidden words are still never drawn', () => {
  const small = (max: number) => randomInt(Math.min(max, 3));
  const client = `${ADJECTIVES[0]} ${NOUNS[1]} SA`;
  for (let i = 0; i < 1000; i++) {
    const name = generateDatabaseName({ forbidden: [client], existing: new Set(), random: small });
    assert.ok(!name.includes(ADJECTIVES[0]!) && !name.includes(NOUNS[1]!), name);
  }
});

test('gives up with a clear error when nothing can be drawn', () => {
  assert.throws(
    () =>
      generateDatabaseName({
        forbidden: [],
        existing: new Set([`${ADJECTIVES[0]}_${NOUNS[0]}_1000`]),
        random: () => 0,
      }),
    (e: OdpError) =>
      e instanceof OdpError && /could not generate a database name/.test(e.message) && Boolean(e.hint),
  );
});

test('passwords: length, charset, uniqueness', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const p = generatePassword();
    assert.match(p, /^[A-Za-z0-9]{24}$/);
    seen.add(p);
  }
  assert.equal(seen.size, 1000);
  assert.equal(generatePassword(40).length, 40);
  assert.throws(() => generatePassword(19), OdpError);
  assert.throws(() => generatePassword(20.5), OdpError);
});

test('passwords use the whole alphabet, about evenly', () => {
  const counts = new Map<string, number>();
  for (let i = 0; i < 2000; i++)
    for (const c of generatePassword(31)) counts.set(c, (counts.get(c) ?? 0) + 1);
  assert.equal(counts.size, 62);
  // 62,000 draws over 62 symbols: 1000 each expected; a biased source would stray far further.
  for (const n of counts.values()) assert.ok(n > 800 && n < 1200, `count ${n}`);
});
