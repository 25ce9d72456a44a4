// Secrets as Swarm secrets (docs/decisions/0075). A variable the service lists in
// `fileSecrets` whose value is a Secret is not put in the task's environment
// (which `docker service inspect` shows to anyone with the manager's API): it is
// a Swarm secret, mounted in the task as a file under /run/secrets, and the
// image is told the file through its `<VAR>_FILE` variable. A secret is named by
// a digest of its unit, variable and value: a new value is a new secret (Swarm's
// secrets cannot change), and the old one goes with the unit that used it.
import { createHash } from 'node:crypto';
import type Dockerode from 'dockerode';
import { revealEnv, Secret } from '../../secret.js';
import { LABEL, type UnitSpec } from '../engine.js';
import { messageOf, statusOf } from '../docker/api-errors.js';
import { engineError } from './services.js';

/** Which unit a secret is for: how a removed unit's secrets are found. */
export const SECRET_UNIT_LABEL = 'odp.unit';

export interface SecretFile {
  /** The Swarm secret's name (and the file's, under /run/secrets). */
  name: string;
  /** The variable it replaces, and the one that names its file. */
  variable: string;
  fileVariable: string;
  data: string;
}

/** The unit's secrets handed over as files; none for a service that lists none. */
export function secretFiles(u: UnitSpec, unit: string): SecretFile[] {
  return Object.entries(u.service.fileSecrets ?? {}).flatMap(([variable, fileVariable]) => {
    const value = u.service.env.get(variable);
    if (!(value instanceof Secret)) return [];
    const data = revealEnv(value);
    const digest = createHash('sha256').update(`${unit}\0${variable}\0${data}`).digest('hex');
    // At most 64 characters: a unit's name may be longer; the labels say whose it is.
    return [{ name: `odp-${digest.slice(0, 32)}`, variable, fileVariable, data }];
  });
}

/** The task's environment with each secret variable replaced by its file's path. */
export function withSecretFiles(env: readonly string[], files: readonly SecretFile[]): string[] {
  const replaced = new Set(files.map((f) => f.variable));
  return [
    ...env.filter((e) => !replaced.has(e.slice(0, e.indexOf('=')))),
    ...files.map((f) => `${f.fileVariable}=/run/secrets/${f.name}`),
  ];
}

/** Mounts of the secrets, readable by the image's own user (tmpfs, in the task only). */
export function secretMounts(files: readonly SecretFile[], ids: ReadonlyMap<string, string> = new Map()) {
  return files.map((f) => ({
    SecretID: ids.get(f.name) ?? '',
    SecretName: f.name,
    File: { Name: f.name, UID: '0', GID: '0', Mode: 0o444 },
  }));
}

/** Creates the secrets not there yet; their ids, by name. */
export async function ensureSecrets(
  docker: Dockerode,
  u: UnitSpec,
  unit: string,
  files: readonly SecretFile[],
): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const f of files) {
    const [found] = (await docker.listSecrets({ filters: { name: [f.name] } })) as {
      ID: string;
      Spec?: { Name?: string };
    }[];
    if (found && found.Spec?.Name === f.name) {
      ids.set(f.name, found.ID);
      continue;
    }
    try {
      const made = (await docker.createSecret({
        Name: f.name,
        Labels: {
          [LABEL.platform]: u.service.labels[LABEL.platform] ?? '',
          [SECRET_UNIT_LABEL]: unit,
          'odp.variable': f.variable,
        },
        Data: Buffer.from(f.data).toString('base64'),
      })) as unknown as { id: string };
      ids.set(f.name, made.id);
    } catch (e) {
      // The message never holds the value: only the secret's name and the variable.
      throw engineError(`cannot create the secret for ${f.variable} of ${unit}`, e);
    }
  }
  return ids;
}

/** Removes the unit's secrets; one still in use (by a task being removed) stays. */
export async function removeUnitSecrets(docker: Dockerode, unit: string): Promise<void> {
  const list = (await docker.listSecrets({ filters: { label: [`${SECRET_UNIT_LABEL}=${unit}`] } })) as {
    ID: string;
  }[];
  for (const s of list) {
    await docker
      .getSecret(s.ID)
      .remove()
      .catch((e: unknown) => {
        if (statusOf(e) !== 404 && !/in use/i.test(messageOf(e)))
          throw engineError(`cannot remove secret ${s.ID}`, e);
      });
  }
}
