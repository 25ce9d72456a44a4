// Secrets stay encrypted in git, and every instance has the secrets it needs.
import { odooEnv } from '../../compose/odoo-env.js';
import { secretsForInstance } from '../../secrets/scope.js';
import { effectiveInstances } from './effective.js';
import type { Rule, Violation } from './types.js';

export const noTrackedPlaintext: Rule = {
  id: 'no-plaintext-secrets-in-git',
  description: 'No plaintext secrets file (*.env, rancher.env, .env) is tracked by git.',
  check({ trackedPlaintextSecrets }) {
    return trackedPlaintextSecrets.map((file) => ({
      rule: this.id,
      message: `${file} holds plaintext secrets and is tracked by git`,
      location: { file, line: 1, column: 1 },
    }));
  },
};

export const secretsPresent: Rule = {
  id: 'secrets-present',
  description: 'Each instance has the secrets it needs (checked when a passphrase is available).',
  needsSecrets: true,
  check({ platform, projects, secrets }) {
    if (!secrets) return [];
    const out: Violation[] = [];
    // What composeStack reports as missing is odooEnv's: asked directly, without
    // composing the whole stack. An instance that does not resolve is plan-exists's report.
    for (const { project: p, name, resolved } of effectiveInstances(platform, projects)) {
      const mine = secrets.get(p.spec.name);
      if (!mine) continue;
      const { missingSecrets } = odooEnv(platform, p.spec, resolved, secretsForInstance(mine, name));
      for (const key of missingSecrets) {
        out.push({
          rule: this.id,
          message: `${name} needs ${key}: odp secrets set ${p.spec.name} ${key} --instance ${name}`,
          path: `instances.${name}`,
          location: p.locate(['instances', name]),
        });
      }
    }
    return out;
  },
};

/** Plaintext secret files by name: what gpg files are decrypted to. */
export function isPlaintextSecretsFile(path: string): boolean {
  const base = path.split('/').pop() ?? path;
  return base === '.env' || base.endsWith('.env') || base === 'rancher.env';
}
