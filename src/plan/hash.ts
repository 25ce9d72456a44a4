// The configuration hash stored on every unit: what must be equal for a running
// unit to be left alone. Secrets are hashed, never stored (the label holds a
// digest of the whole configuration, not of any one value).
import { createHash } from 'node:crypto';
import type { Service } from '../model/stack.js';
import { revealEnv } from '../secret.js';

export function configHash(service: Service, imageId: string, extra: Record<string, unknown> = {}): string {
  const material = {
    image: service.image,
    imageId,
    command: service.command ?? null,
    env: [...service.env].map(([k, v]) => [k, revealEnv(v)]),
    networks: service.externalNetworks,
    sharesNetworkWith: service.sharesNetworkWith ?? null,
    ports: service.ports,
    volumes: service.volumes,
    health: service.health ?? null,
    labels: service.labels,
    ...extra,
  };
  return createHash('sha256').update(JSON.stringify(material)).digest('hex').slice(0, 32);
}
