// What `odp import rancher` refuses before it writes: an imported instance
// whose domain or database another instance already has, in this project or
// another that loads (the rules `domain-unique` and `db-name-unique`, judged
// as `check` would judge the platform after the import).
import { OdpError, type SourceLocation } from '../../errors.js';
import type { PlatformDir } from '../../platformdir/load.js';
import type { InstanceName, ProjectSpec } from '../../platform-spec/project-schema.js';
import { violationsOf } from '../../platform-spec/rules/index.js';

const COLLISION_RULES = new Set(['domain-unique', 'db-name-unique']);

export interface ImportedAt {
  /** The project file, as shown. */
  file: string;
  /** Where the stack sets each field (DOMAIN_NAME, DB_NAME). */
  fields: Partial<Record<'domain' | 'database', SourceLocation>>;
}

export function refuseCollisions(
  pd: PlatformDir,
  project: ProjectSpec,
  inst: InstanceName,
  at: ImportedAt,
): void {
  // The imported instance last, so that a value it shares is reported on it.
  const { [inst]: imported, ...others } = project.instances;
  const spec: ProjectSpec = { ...project, instances: { ...others, [inst]: imported } };
  const locate = (path: readonly PropertyKey[]): SourceLocation => {
    const field = path[1] === inst ? at.fields[String(path[2]) as 'domain' | 'database'] : undefined;
    return field ?? { file: at.file, line: 1, column: 1 };
  };
  const projects = [...pd.projects.values()].filter((p) => p.spec.name !== project.name);
  const problems = violationsOf(
    {
      platform: pd.platform,
      platformFile: pd.platformFile,
      locatePlatform: pd.locatePlatform,
      projects: [...projects, { spec, file: at.file, locate }],
      trackedPlaintextSecrets: [],
    },
    project.name,
  )
    .filter((v) => COLLISION_RULES.has(v.rule) && v.path?.startsWith(`instances.${inst}.`))
    .map((v) => ({ ...v, path: v.rule }));
  if (problems.length === 0) return;
  throw new OdpError('CONFLICT', `${project.name}/${inst} would share what another instance has`, {
    problems,
    hint:
      "Each instance has its own domain and database: fix the stack's DOMAIN_NAME or DB_NAME (the original " +
      "document's prod stack carries integration's DOMAIN_NAME), or the other instance's spec; nothing was written.",
  });
}
