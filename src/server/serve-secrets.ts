// The secrets `odp serve` needs — the webhook secret and the passphrase of the
// platform's and projects' secrets files — read once at start, from files
// (`--webhook-secret-file`, `--passphrase-file`) or the environment, and then
// removed from the environment: the processes the server starts (git, gpg,
// docker-compose, a deploy hook…) inherit no secret. The passphrase stays in
// memory for the deploys the queue runs (src/secrets/passphrase.ts).
//
// Linux shows a process's *initial* environment in /proc/PID/environ whatever
// the process does later; only a secret that was never in the environment
// (the --…-file options) is absent from it.
import { readFile } from 'node:fs/promises';
import { OdpError } from '../errors.js';
import { Secret } from '../secret.js';
import { holdPassphrase, PASSPHRASE_ENV, readPassphraseFile } from '../secrets/passphrase.js';

export const WEBHOOK_SECRET_ENV = 'ODP_WEBHOOK_SECRET';
/** Removed from the environment at start: the server reads the first two, and needs no registry password. */
export const SERVER_SECRET_VARIABLES = [WEBHOOK_SECRET_ENV, PASSPHRASE_ENV, 'ODP_REGISTRY_PASSWORD'];

export interface ServeSecretOptions {
  dir: string;
  webhookSecretFile?: string | undefined;
  passphraseFile?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/** The webhook secret (undefined: webhooks answer 503); the environment is left without secrets. */
export async function takeServeSecrets(o: ServeSecretOptions): Promise<{ webhookSecret?: Secret }> {
  const env = o.env ?? process.env;
  const fromEnv = { webhook: env[WEBHOOK_SECRET_ENV], passphrase: env[PASSPHRASE_ENV] };
  for (const name of SERVER_SECRET_VARIABLES) delete env[name];
  // An explicit file wins over the environment, as everywhere in odp.
  const passphrase = o.passphraseFile ? await readPassphraseFile(o.passphraseFile) : fromEnv.passphrase;
  if (passphrase) holdPassphrase(passphrase);
  // Same format as a passphrase file: the first line, so `echo … > file` works.
  const webhook = o.webhookSecretFile ? await readSecretFile(o.webhookSecretFile) : fromEnv.webhook;
  if (webhook) return { webhookSecret: new Secret(webhook) };
  const { platformSecrets } = await import('../ops/secrets/platform-secrets.js');
  const { values } = await platformSecrets(o.dir, { generate: false });
  const secret = values.get('WEBHOOK_SECRET');
  return secret && secret.reveal() !== '' ? { webhookSecret: secret } : {};
}

/** The first line of `path`; a missing or empty file is an error that names the file, never its content. */
async function readSecretFile(path: string): Promise<string> {
  const hint =
    'Write the webhook secret as the first line of the file (mode 0600), e.g. `umask 077; cat > FILE`.';
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new OdpError(
      e.code === 'ENOENT' ? 'NOT_FOUND' : 'USAGE',
      `cannot read the webhook secret file ${path}`,
      {
        hint,
        cause: e,
      },
    );
  });
  const first = (text.split('\n')[0] ?? '').replace(/\r$/, '');
  if (first === '') throw new OdpError('USAGE', `the webhook secret file ${path} is empty`, { hint });
  return first;
}
