// Every environment variable odp reads, and what for: the "Environment:" section
// of `odp --help` and docs/reference/environment.md are made from this table, and
// test/unit/environment.test.ts fails when src/ reads a variable it does not list.

export const ENVIRONMENT: readonly (readonly [name: string, meaning: string])[] = [
  ['ODP_DIR', 'the platform directory when -C/--dir is not given (else the current one)'],
  ['ODP_STATE_DIR', 'the state database and locks (default: <platform directory>/.odp-state)'],
  ['ODP_PASSPHRASE', 'the passphrase of passphrase-locked secrets files, unless --passphrase-file'],
  ['ODP_KEY_FILE', 'your armored private key, for recipients-locked secrets files, unless --key-file'],
  ['ODP_KEY_PASSPHRASE', 'the passphrase of that key (else a prompt)'],
  ['ODP_ACTOR', 'who `odp history` says ran an operation (default: user@host; odp serve: odp serve)'],
  [
    'ODP_WEBHOOK_SECRET',
    'serve: the webhook secret, unless --webhook-secret-file; publish: signs its notice',
  ],
  ['ODP_REGISTRY', 'publish: the registry, unless --registry'],
  ['ODP_IMAGE', 'publish: the image repository, unless --image'],
  ['ODP_MAIN_BRANCH', 'publish: the branch whose builds are latest, unless --main-branch (default: master)'],
  ['ODP_SERVER_URL', 'publish: the odp serve to notify, unless --notify'],
  ['ODP_PROJECT', 'publish: the project to redeploy, unless --project'],
  ['ODP_REGISTRY_USER', 'publish: the registry user (with ODP_REGISTRY_PASSWORD: both or neither)'],
  ['ODP_REGISTRY_PASSWORD', "publish: that user's password"],
  ['GITHUB_REF', 'publish on a detached HEAD: the ref CI built (refs/heads/…, refs/tags/…, refs/pull/…)'],
  ['GITHUB_SHA', 'publish: the commit GITHUB_REF describes; it must be HEAD'],
  ['VISUAL', 'secrets edit: the editor'],
  ['EDITOR', 'secrets edit: the editor when VISUAL is unset (default: vi)'],
  ['DOCKER_HOST', 'the Docker engine, unix://PATH or tcp://HOST:PORT (default: /var/run/docker.sock)'],
  ['DOCKER_TLS_VERIFY', 'with tcp://: verify the engine over TLS, as the docker CLI does'],
  ['DOCKER_CERT_PATH', 'with tcp://: the directory of ca.pem, cert.pem and key.pem'],
  ['SSH_AUTH_SOCK', "the SSH agent, for engines at ssh:// addresses (a swarm host's docker:)"],
  ['FORCE_COLOR', 'colour on stderr even on a pipe (0 or false: none)'],
  ['NO_COLOR', 'no colour on stderr (so do NODE_DISABLE_COLORS and TERM=dumb)'],
];

/** The section `odp --help` ends with. */
export function environmentHelp(): string {
  const width = Math.max(...ENVIRONMENT.map(([name]) => name.length)) + 2;
  return `Environment:\n${ENVIRONMENT.map(([name, meaning]) => `  ${name.padEnd(width)}${meaning}`).join('\n')}`;
}
