// A platform of N projects for bench/fleet.ts: the example platform's
// platform.yaml and neomedical, plus generated projects made the way
// `odp project new` makes them (draftProject: random database names, domains,
// buckets, six generated passwords each) with the storage keys a team then
// sets, encrypted with the passphrase.
// Encrypting costs one key derivation per file (about 17 ms), so the largest
// fleet is made once and smaller ones are copied from it.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { draftProject, type TakenNames } from '../src/ops/project-new.js';
import { Secret } from '../src/secret.js';
import { encryptText } from '../src/secrets/crypto.js';
import { formatEnvFile } from '../src/secrets/envfile.js';
import { generatePassword } from '../src/secrets/generate.js';

const example = fileURLToPath(new URL('../examples/platform/', import.meta.url));
const words = ['Alpine', 'Baker', 'Cedar', 'Delta', 'Ember', 'Fjord', 'Granite', 'Harbor', 'Iris', 'Juniper'];

/** Project names p0001…, clients such as "Cedar Fjord 0007 SA". */
export function fleetName(i: number): string {
  return `p${String(i).padStart(4, '0')}`;
}

/**
 * Writes the example platform plus `n` generated projects into `source`
 * (projects/<name>.yaml and projects/<name>.env.gpg, as `odp project new` does).
 */
export async function makeFleet(source: string, n: number, passphrase: string): Promise<void> {
  cpSync(example, source, { recursive: true, filter: (p) => !p.includes('.odp-state') });
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
    queue.push(
      encryptText(formatEnvFile(d.secrets), passphrase).then((data) =>
        writeFileSync(join(source, 'projects', `${name}.env.gpg`), data, { mode: 0o600 }),
      ),
    );
    if (queue.length >= 8) await Promise.all(queue.splice(0));
  }
  await Promise.all(queue);
}

/** A git repository holding the example platform and the first `n` projects of `source`. */
export function fleetCopy(source: string, dest: string, n: number): void {
  cpSync(example, dest, { recursive: true, filter: (p) => !p.includes('.odp-state') });
  mkdirSync(join(dest, 'projects'), { recursive: true });
  for (let i = 1; i <= n; i++) {
    for (const ext of ['yaml', 'env.gpg']) {
      const f = `${fleetName(i)}.${ext}`;
      copyFileSync(join(source, 'projects', f), join(dest, 'projects', f));
    }
  }
  // Platform directories live in git: the plaintext-secrets rule asks git what it tracks.
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dest, stdio: 'ignore' });
  git('init', '-q');
  git('add', '.');
  git('-c', 'user.name=bench', '-c', 'user.email=bench@example.com', 'commit', '-qm', 'fleet');
}
