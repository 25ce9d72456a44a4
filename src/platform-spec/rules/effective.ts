// The values rules judge are the ones the container would get, after defaults,
// conventions and per-instance overrides: computed by the same core as deploys.
import { odooEnv } from '../../compose/odoo-env.js';
import { resolveInstance, type ResolvedInstance } from '../../compose/instance.js';
import { revealEnv, type EnvValue } from '../../secret.js';
import type { PlatformSpec } from '../platform-schema.js';
import { instanceNames, type InstanceName } from '../project-schema.js';
import type { ProjectInput } from './types.js';

export interface EffectiveInstance {
  project: ProjectInput;
  name: InstanceName;
  resolved: ResolvedInstance;
  /** The container's environment, values revealed as they are read. */
  env: Pick<ReadonlyMap<string, string>, 'get'>;
}

// Five rules judge the same instances: resolved once per check, not once per
// rule (a thousand projects are three thousand instances, each env computed).
const computed = new WeakMap<ProjectInput[], { platform: PlatformSpec; instances: EffectiveInstance[] }>();

/** Every declared instance that resolves; one that cannot (an unknown plan) is another rule's report. */
export function effectiveInstances(platform: PlatformSpec, projects: ProjectInput[]): EffectiveInstance[] {
  const hit = computed.get(projects);
  if (hit?.platform === platform) return hit.instances;
  const instances = resolveAll(platform, projects);
  computed.set(projects, { platform, instances });
  return instances;
}

function resolveAll(platform: PlatformSpec, projects: ProjectInput[]): EffectiveInstance[] {
  const out: EffectiveInstance[] = [];
  for (const project of projects) {
    for (const name of instanceNames) {
      if (!project.spec.instances[name]) continue;
      let resolved: ResolvedInstance;
      try {
        resolved = resolveInstance(platform, project.spec, name);
      } catch {
        continue;
      }
      const { env } = odooEnv(platform, project.spec, resolved, new Map());
      out.push({ project, name, resolved, env: revealing(env) });
    }
  }
  return out;
}

// Rules read a few variables of each instance: revealed on read, not copied (3,000 maps at fleet scale).
function revealing(env: ReadonlyMap<string, EnvValue>): Pick<ReadonlyMap<string, string>, 'get'> {
  return {
    get: (key) => {
      const v = env.get(key);
      return v === undefined ? undefined : revealEnv(v);
    },
  };
}

export function truthy(v: string | undefined): boolean {
  return v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
}
