// Rules on platform.yaml itself: services on declared hosts, the replica in
// another data centre, a host for every label an instance is scheduled on.
import type { Rule, Violation } from './types.js';
import { own } from '../own.js';

export const hostsDeclared: Rule = {
  id: 'host-exists',
  description: 'Every host a shared service names is declared under hosts.',
  check({ platform, locatePlatform }) {
    const s = platform.services;
    const refs: [string[], string | undefined][] = [
      [['services', 'postgres', 'primary'], s.postgres.primary],
      [['services', 'postgres', 'replica'], s.postgres.replica],
      [['services', 'postgresIntegration', 'host'], s.postgresIntegration.host],
      [['services', 'redis', 'host'], s.redis.host],
      [['services', 'redisIntegration', 'host'], s.redisIntegration.host],
      ...s.edge.hosts.map((h, i): [string[], string] => [['services', 'edge', 'hosts', String(i)], h]),
    ];
    const known = Object.keys(platform.hosts);
    return refs
      .filter(([, host]) => host !== undefined && !own(platform.hosts, host))
      .map(([path, host]) => ({
        rule: this.id,
        message: `host "${host}" is not declared (known: ${known.join(', ')})`,
        path: path.join('.'),
        location: locatePlatform(path.map((p) => (/^\d+$/.test(p) ? Number(p) : p))),
      }));
  },
};

export const replicaElsewhere: Rule = {
  id: 'replica-other-datacentre',
  description: 'The PostgreSQL replica runs in another data centre than the primary.',
  check({ platform, locatePlatform }) {
    const { primary, replica } = platform.services.postgres;
    if (!replica) return [];
    const a = own(platform.hosts, primary);
    const b = own(platform.hosts, replica);
    if (!a || !b || a.datacentre !== b.datacentre) return [];
    const path = ['services', 'postgres', 'replica'];
    return [
      {
        rule: this.id,
        message: `replica ${replica} is in ${b.datacentre}, the primary's data centre`,
        path: path.join('.'),
        location: locatePlatform(path),
      },
    ];
  },
};

export const labelsHaveHosts: Rule = {
  id: 'label-has-host',
  description:
    'Each tier an instance is scheduled on (application+integration, application+production) has a host.',
  check({ platform, locatePlatform, projects }) {
    const out: Violation[] = [];
    const tiers: [string, string[]][] = [
      ['integration', ['application', 'integration']],
      ['prod', ['application', 'production']],
    ];
    for (const [instance, labels] of tiers) {
      const used = projects.some((p) => p.spec.instances[instance as 'prod']);
      const hosts = Object.values(platform.hosts).filter((h) => labels.every((l) => h.labels.includes(l)));
      if (used && hosts.length === 0) {
        out.push({
          rule: this.id,
          message: `${instance} instances need a host labelled ${labels.join('+')}; none is`,
          path: 'hosts',
          location: locatePlatform(['hosts']),
        });
      }
    }
    return out;
  },
};
