// The platform registry's credentials: the user from platform.yaml
// (`registry.username`), its password the platform secret REGISTRY_PASSWORD in
// platform.env.gpg, like the other keys the platform holds (backup storage,
// webhook). Read only when a user is named: an anonymous registry asks for no
// passphrase. Kept in Secret values, never printed.
import type { RegistryCredentials } from '../../engines/images.js';
import { OdpError } from '../../errors.js';
import { REGISTRY_PASSWORD_KEY } from '../../platform-spec/platform-schema.js';
import type { PlatformFile } from '../../platformdir/load.js';
import { Secret } from '../../secret.js';
import type { KeySource } from '../../secrets/lock.js';
import { platformSecrets } from './platform-secrets.js';

export async function registryCredentials(
  pf: Pick<PlatformFile, 'dir' | 'platform'>,
  o: KeySource = {},
): Promise<RegistryCredentials | undefined> {
  const username = pf.platform.registry?.username;
  if (!username) return undefined;
  const { values } = await platformSecrets(pf.dir, { ...o, generate: false });
  const password = values.get(REGISTRY_PASSWORD_KEY);
  if (!password)
    throw new OdpError(
      'NOT_FOUND',
      `platform.yaml names the registry user ${username}, but platform.env.gpg has no ${REGISTRY_PASSWORD_KEY}`,
      { hint: `odp platform secrets set ${REGISTRY_PASSWORD_KEY} --stdin` },
    );
  return { username: new Secret(username), password };
}
