// Rules on what instances run and where: pinned versions, cloud storage and
// sessions on the shared tiers, unique domains, plans that exist.
import { effectiveInstances, truthy } from './effective.js';
import type { Rule, Violation } from './types.js';
import { own } from '../own.js';

export const pinnedVersions: Rule = {
  id: 'pinned-version',
  description: 'Integration and prod run a pinned version X.Y.Z; latest is refused there.',
  check({ projects }) {
    const out: Violation[] = [];
    for (const p of projects) {
      for (const name of ['integration', 'prod'] as const) {
        const inst = p.spec.instances[name];
        if (inst && inst.version === 'latest') {
          const path = ['instances', name, 'version'];
          out.push({
            rule: this.id,
            message: `${name} must run a pinned version, not latest`,
            path: path.join('.'),
            location: p.locate(path),
          });
        }
      }
    }
    return out;
  },
};

export const cloudStorageOnSharedTiers: Rule = {
  id: 'cloud-storage',
  description:
    'Prod and integration keep sessions in Redis and attachments in S3, with the platform checks on (stateless containers).',
  check({ platform, projects }) {
    const out: Violation[] = [];
    for (const e of effectiveInstances(platform, projects)) {
      if (e.name === 'test') continue;
      const say = (message: string) =>
        out.push({
          rule: this.id,
          message: `${e.name}: ${message}`,
          path: `instances.${e.name}.env`,
          location: e.project.locate(['instances', e.name, 'env']),
        });
      if (!truthy(e.env.get('ODOO_SESSION_REDIS'))) say('sessions must live in Redis (ODOO_SESSION_REDIS=1)');
      if (!e.env.get('AWS_BUCKETNAME')) say('attachments need an S3 bucket (AWS_BUCKETNAME)');
      if (truthy(e.env.get('DISABLE_ATTACHMENT_STORAGE')))
        say('DISABLE_ATTACHMENT_STORAGE keeps attachments out of S3');
      if (truthy(e.env.get('ODOO_CLOUD_PLATFORM_UNSAFE')))
        say('ODOO_CLOUD_PLATFORM_UNSAFE turns the platform checks off');
    }
    return out;
  },
};

export const domainsUnique: Rule = {
  id: 'domain-unique',
  description: 'Every instance domain is unique across the platform.',
  check({ projects }) {
    const out: Violation[] = [];
    const seen = new Map<string, string>();
    for (const p of projects) {
      for (const [name, inst] of Object.entries(p.spec.instances)) {
        if (!inst) continue;
        const owner = `${p.spec.name}/${name}`;
        const other = seen.get(inst.domain);
        if (other) {
          const path = ['instances', name, 'domain'];
          out.push({
            rule: this.id,
            message: `domain ${inst.domain} is also used by ${other}`,
            path: path.join('.'),
            location: p.locate(path),
          });
        } else seen.set(inst.domain, owner);
      }
    }
    return out;
  },
};

export const plansExist: Rule = {
  id: 'plan-exists',
  description: 'Every plan a project, an instance or testPlan names is declared in platform.yaml.',
  check({ platform, locatePlatform, projects }) {
    const out: Violation[] = [];
    const known = Object.keys(platform.plans);
    const missing = (plan: string) => `plan "${plan}" is not declared (known: ${known.join(', ')})`;
    if (!own(platform.plans, platform.testPlan)) {
      out.push({
        rule: this.id,
        message: missing(platform.testPlan),
        path: 'testPlan',
        location: locatePlatform(['testPlan']),
      });
    }
    for (const p of projects) {
      if (!own(platform.plans, p.spec.plan)) {
        out.push({
          rule: this.id,
          message: missing(p.spec.plan),
          path: 'plan',
          location: p.locate(['plan']),
        });
      }
      for (const [name, inst] of Object.entries(p.spec.instances)) {
        if (inst?.plan && !own(platform.plans, inst.plan)) {
          const path = ['instances', name, 'plan'];
          out.push({
            rule: this.id,
            message: missing(inst.plan),
            path: path.join('.'),
            location: p.locate(path),
          });
        }
      }
    }
    return out;
  },
};
