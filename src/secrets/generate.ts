// Generated credentials. Passwords come from the OS CSPRNG (the original used
// `pwgen -s 20`). Database names are heroku-style `adjective_noun_NNNN`: the
// shared PostgreSQL cluster lets customers list all databases, so a name must
// never reveal whose it is (see the original platform's warning).
import { randomInt } from 'node:crypto';
import { OdpError } from '../errors.js';

export { GENERATED_KEYS } from './generated-keys.js';

const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const MIN_PASSWORD_LENGTH = 20;

export function generatePassword(length = 24): string {
  if (!Number.isInteger(length) || length < MIN_PASSWORD_LENGTH) {
    throw new OdpError('USAGE', `a generated password has at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  let out = '';
  // randomInt rejects out-of-range draws internally, so every character is equally likely.
  for (let i = 0; i < length; i++) out += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  return out;
}

// Neutral words only: nature, colours, weather, animals. Kept short so that
// `<name>_integration` stays far below PostgreSQL's 63-byte identifier limit.
export const ADJECTIVES = words(`
  able agile airy amber ample arctic azure balmy bold brave breezy bright brisk bronze calm candid careful
  cheerful civic classic clean clear clever cloudy coastal cobalt cosmic cozy crisp curious daring dapper
  dazzling deep dewy direct distant dusty eager early earnest easy elegant emerald epic even exact fair famous
  fancy fast festive fine firm fluent flying fond fresh friendly frosty gentle giant gifted glad golden graceful
  grand green happy hardy hearty helpful hidden honest humble icy ideal indigo inner jade jolly joyful jovial keen
  kind large lasting lavish leafy level light lively local lofty loyal lucid lucky lunar magic major mellow merry
  mighty mild misty modern modest natural neat nimble noble northern novel oaken olive open orange orderly
  patient peaceful pearly plain playful pleasant polar polished precise proud purple quick quiet radiant rapid
  rare ready regal relaxed rich rising robust rosy round royal ruby rustic safe sandy scarlet serene sharp shiny
  silent silky silver simple sincere sleek smart smooth snowy social solar solid sonic southern sparkling spry
  stable starry steady stellar still strong sturdy sublime sunny super supple swift tactful tall tender tidy
  timely tiny topaz tranquil trusty upbeat urban valiant vast velvet vernal violet vivid warm wavy western wide
  wild windy wintry wise witty wooden young zealous zesty
`);

export const NOUNS = words(`
  acorn anchor apple arch arrow aspen atlas aurora badger bamboo basil beacon bear beaver bell birch bison
  blossom bluff boat bonsai breeze brook buffalo butte cabin cactus camel canal canyon cape cardinal carp cedar
  cello chalk cherry cliff clover cloud comet compass condor coral cosmos cove crane creek cricket crystal
  cypress daisy dawn delta desert dolphin dove dune eagle echo elm ember falcon fern field finch fjord flame
  flint forest fox galaxy garden gazelle geyser glacier glade globe gorge granite grove gull harbor hawk hazel
  heron hill horizon island ivy jaguar jasmine kayak kestrel koala lagoon lake lantern lark laurel leaf lemur
  lily lion lotus lynx maple marble meadow meteor mesa mint moon moose moss mountain nebula nest oak oasis ocean
  orbit orchid osprey otter owl panda panther parrot peak pebble pelican penguin pine planet plateau plum pond
  poplar prairie puffin quail quartz rabbit raven reef ridge river robin rock rose sage salmon sequoia shell
  shore sparrow spruce squirrel star stone stream summit sun swan thistle thunder tiger tide tulip tundra
  valley vine walrus wave willow wind wolf wren yak zebra zephyr
`);

function words(text: string): readonly string[] {
  return [...new Set(text.split(/\s+/).filter(Boolean))];
}

export const INTEGRATION_SUFFIX = '_integration';
export const MAX_NAME_ATTEMPTS = 1000;
const PG_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const PG_MAX_LENGTH = 63;

/** Lower-case, accents folded, everything but letters and digits removed: `Neo-Medical S.A.` → `neomedicalsa`. */
export function normalizeForMatch(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]/gu, '');
}

/**
 * The substrings a name must avoid: each forbidden string whole, and each of
 * its words of three or more characters (so "Happy Tiger" bans `happy` and
 * `tiger` apart as well). Shorter tokens are dropped: two letters reveal no
 * one and would ban half the word list.
 */
export function forbiddenTokens(forbidden: readonly string[]): string[] {
  const tokens = new Set<string>();
  for (const f of forbidden) {
    tokens.add(normalizeForMatch(f));
    for (const word of f.split(/[^\p{L}\p{N}]+/u)) tokens.add(normalizeForMatch(word));
  }
  return [...tokens].filter((t) => t.length >= 3);
}

export interface DatabaseNameOptions {
  /** The customer's name, the project's name, …: never to appear in the name. */
  forbidden: string[];
  /** Database names in use on the cluster, any case (`x_integration` counts as taking `x`). */
  existing: ReadonlySet<string>;
  /** Uniform integer in [0, max); defaults to the CSPRNG. Injected by tests. */
  random?: (max: number) => number;
}

export function generateDatabaseName(opts: DatabaseNameOptions): string {
  const random = opts.random ?? ((max: number) => randomInt(max));
  const tokens = forbiddenTokens(opts.forbidden);
  // PostgreSQL folds unquoted names to lower case: compare that way.
  const taken = new Set<string>();
  for (const name of opts.existing) {
    const lower = name.toLowerCase();
    taken.add(lower.endsWith(INTEGRATION_SUFFIX) ? lower.slice(0, -INTEGRATION_SUFFIX.length) : lower);
  }
  const pick = (list: readonly string[]): string => {
    const word = list[random(list.length)];
    if (word === undefined)
      throw new OdpError('INTERNAL', 'the random source returned an out-of-range index');
    return word;
  };

  for (let attempt = 0; attempt < MAX_NAME_ATTEMPTS; attempt++) {
    const name = `${pick(ADJECTIVES)}_${pick(NOUNS)}_${1000 + random(9000)}`;
    const flat = normalizeForMatch(name);
    if (!isValidDatabaseName(name)) continue;
    if (tokens.some((t) => flat.includes(t))) continue;
    if (taken.has(name)) continue;
    return name;
  }
  throw new OdpError('INTERNAL', `could not generate a database name in ${MAX_NAME_ATTEMPTS} attempts`, {
    hint: `The forbidden words (${tokens.join(', ') || 'none'}) or the existing names exclude too much; set the database name in the project file.`,
  });
}

/** A plain PostgreSQL identifier that still fits once `_integration` is appended. */
export function isValidDatabaseName(name: string): boolean {
  return PG_IDENTIFIER.test(name) && name.length + INTEGRATION_SUFFIX.length <= PG_MAX_LENGTH;
}
