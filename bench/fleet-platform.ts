// A platform of N projects for bench/fleet.ts: the example platform's
// platform.yaml and neomedical, plus generated projects made the way
// `odp project new` makes them (draftProject: random database names, domains,
// buckets, six generated passwords each) with the storage keys a team then
// sets, each project's secrets encrypted twice: with the passphrase, and to the
// platform's key pair as `odp secrets recipients add` leaves them (recipients mode:
// keys/<FPR>.asc in the platform directory, the private key outside it).
// Encrypting costs one key derivation per file (about 17 ms), so the largest
// fleet is made once and smaller ones are copied from it.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as openpgp from 'openpgp';
import { draftProject, type TakenNames } from '../src/ops/project/project-draft.js';
import { Secret } from '../src/secret.js';
import { decryptText, encryptText, encryptToKeys } from '../src/secrets/crypto.js';
import { formatEnvFile } from '../src/secrets/envfile.js';
import { generatePassword } from '../src/secrets/generate.js';
import { importKey, KEYS_DIR } from '../src/secrets/keyring.js';

/** How a fleet's secrets files are locked. */
export type FleetMode = 'passphrase' | 'recipients';
/** The platform key's own passphrase (ODP_KEY_PASSPHRASE). */
export const FLEET_KEY_PASSPHRASE = 'fleet key';
/** In the source directory: the platform's private key (ODP_KEY_FILE), never in a platform directory. */
export const FLEET_KEY_FILE = 'platform-key.asc';

const example = fileURLToPath(new URL('../examples/platform/', import.meta.url));
const words = ['Alpine', 'Baker', 'Cedar', 'Delta', 'Ember', 'Fjord', 'Granite', 'Harbor', 'Iris', 'Juniper'];

/** Project names p0001…, clients such as "Cedar Fjord 0007 SA". */
export function fleetName(i: number): string {
  return `p${String(i).padStart(4, '0')}`;
}

/**
 * Writes the example platform plus `n` generated projects into `source`
 * (projects/<name>.yaml and projects/<name>.env.gpg, as `odp project new` does),
 * and the same secrets to the platform key in recipients/<name>.env.gpg, with
 * keys/<FPR>.asc and the private key (FLEET_KEY_FILE).
 */
export async function makeFleet(source: string, n: number, passphrase: string): Promise<void> {
  cpSync(example, source, { recursive: true, filter: (p) => !p.includes('.odp-state') });
  mkdirSync(join(source, 'recipients'));
  // A Curve25519 key as gpg makes them (future-default), locked with its own passphrase.
  const pair = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: 'fleet platform', email: 'platform@example.com' }],
    passphrase: FLEET_KEY_PASSPHRASE,
    format: 'armored',
  });
  writeFileSync(join(source, FLEET_KEY_FILE), pair.privateKey, { mode: 0o600 });
  const pub = await openpgp.readKey({ armoredKey: pair.publicKey });
  await importKey(source, pub);
  const neomedical = join(source, 'projects', 'neomedical.env.gpg');
  const exampleSecrets = await decryptText(readFileSync(neomedical), passphrase, neomedical);
  writeFileSync(join(source, 'recipients', 'neomedical.env.gpg'), await encryptToKeys(exampleSecrets, [pub]));
  const taken: TakenNames = { databases: new Set(), domains: new Set() };
  const queue: Promise<void>[] = [];
  for (let i = 1; i <= n; i++) {
    const name = fleetName(i);
    const client = `${words[i % 10]} ${words[Math.floor(i / 10) % 10]} ${String(i).padStart(4, '0')} SA`;
    const d = draftProject('odoo.example.ch', taken, name, {
      client,
      plan: i % 7 === 0 ? 'large' : 'standard',
      flavour: 'camptocamp',
      series: '16.0',
    });
    taken.databases.add(d.database);
    for (const domain of Object.values(d.domains)) taken.domains.add(domain);
    // What a team adds after `odp project new` (odp secrets set): the storage keys.
    d.secrets.set('AWS_ACCESS_KEY_ID', new Secret(`AKIA${String(i).padStart(16, '0')}`));
    d.secrets.set('AWS_SECRET_ACCESS_KEY', new Secret(generatePassword()));
    writeFileSync(join(source, 'projects', `${name}.yaml`), d.yaml);
    const text = formatEnvFile(d.secrets);
    queue.push(
      encryptText(text, passphrase).then((data) =>
        writeFileSync(join(source, 'projects', `${name}.env.gpg`), data, { mode: 0o600 }),
      ),
      encryptToKeys(text, [pub]).then((data) =>
        writeFileSync(join(source, 'recipients', `${name}.env.gpg`), data, { mode: 0o600 }),
      ),
    );
    if (queue.length >= 8) await Promise.all(queue.splice(0));
  }
  await Promise.all(queue);
}

/**
 * A git repository holding the example platform and the first `n` projects of
 * `source`, their secrets files locked as `mode` says (recipients: every file,
 * the example project's too, encrypted to the platform key in keys/).
 */
export function fleetCopy(source: string, dest: string, n: number, mode: FleetMode = 'passphrase'): void {
  cpSync(example, dest, { recursive: true, filter: (p) => !p.includes('.odp-state') });
  mkdirSync(join(dest, 'projects'), { recursive: true });
  const secretsFrom = join(source, mode === 'recipients' ? 'recipients' : 'projects');
  for (let i = 1; i <= n; i++) {
    const f = fleetName(i);
    copyFileSync(join(source, 'projects', `${f}.yaml`), join(dest, 'projects', `${f}.yaml`));
    copyFileSync(join(secretsFrom, `${f}.env.gpg`), join(dest, 'projects', `${f}.env.gpg`));
  }
  if (mode === 'recipients') {
    copyFileSync(join(secretsFrom, 'neomedical.env.gpg'), join(dest, 'projects', 'neomedical.env.gpg'));
    cpSync(join(source, KEYS_DIR), join(dest, KEYS_DIR), { recursive: true });
  }
  // Platform directories live in git: the plaintext-secrets rule asks git what it tracks.
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dest, stdio: 'ignore' });
  git('init', '-q');
  git('add', '.');
  git('-c', 'user.name=bench', '-c', 'user.email=bench@example.com', 'commit', '-qm', 'fleet');
}
