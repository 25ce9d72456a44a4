// A restore drill's last check: Odoo starts on the restored database. The
// instance's own image at the version the data was migrated to (the backup's
// `imageVersion`; the spec's when it recorded none) runs once, as a throw-away
// task with the instance's environment and networks, pointed at the scratch
// database: `odoo --stop-after-init` loads the registry (a real Odoo runs its
// modules' register hooks, cloud_platform's checks among them) and exits.
// Nothing of production is touched: no HTTP, no cron, no migration
// (MIGRATE=False), no volume, no published port.
import type { Tier } from '../../compose/platform.js';
import { composeStack } from '../../compose/stack.js';
import { LABEL, type Engine, type UnitSpec } from '../../engines/engine.js';
import { OdpError } from '../../errors.js';
import { requireProject, type PlatformDir } from '../../platformdir/load.js';
import { loadProjectSecrets } from '../secrets/secrets.js';

export interface OdooStart {
  image: string;
  /** The command's last lines (a failure's explanation). */
  output: string;
}

/** The task that starts Odoo on `scratch`: the instance's odoo service, renamed and stripped. */
async function drillTask(
  engine: Engine,
  pd: PlatformDir,
  project: string,
  tier: Tier,
  version: string | null,
  scratch: string,
  passphraseFile: string | undefined,
): Promise<UnitSpec> {
  const spec = requireProject(pd, project).spec;
  const current = spec.instances[tier];
  if (!current) throw new OdpError('NOT_FOUND', `${project} declares no ${tier} instance`);
  const at = version ? { ...spec, instances: { ...spec.instances, [tier]: { ...current, version } } } : spec;
  const all = await loadProjectSecrets(pd.dir, project, { passphraseFile });
  if (!all) throw new OdpError('SECRETS_NO_PASSPHRASE', `no secrets for ${project}`);
  const { stack, missingSecrets } = composeStack(pd.platform, at, tier, all);
  if (missingSecrets.length)
    throw new OdpError('NOT_FOUND', `${stack.name} lacks ${missingSecrets.join(', ')}`);
  const odoo = stack.services.find((s) => s.role === 'odoo');
  if (!odoo) throw new OdpError('INTERNAL', `${stack.name} has no odoo service`);
  if (!(await engine.resolveImage(odoo.image))) {
    throw new OdpError('NOT_FOUND', `the image ${odoo.image} the data was migrated with is not found`);
  }
  const labels = {
    [LABEL.platform]: pd.platform.name,
    [LABEL.project]: project,
    [LABEL.instance]: tier,
  };
  // The instance's network, which a drill of an instance never deployed (or
  // taken down) lacks; its shared networks exist while the platform is up.
  await engine.ensureNetwork(stack.network, labels);
  const { health: _health, ...service } = odoo;
  return {
    stack: stack.name,
    network: stack.network,
    replica: 1,
    configHash: 'restore-drill',
    publish: [],
    service: {
      ...service,
      name: 'drill',
      env: new Map([...odoo.env, ['DB_NAME', scratch], ['MIGRATE', 'False']]),
      ports: [],
      volumes: [],
      labels: { ...odoo.labels, [LABEL.service]: 'drill' },
    },
  };
}

/** Runs Odoo once on `scratch` and waits for it to exit; a non-zero exit is an error with its output's end. */
export async function startOdooOn(
  engine: Engine,
  pd: PlatformDir,
  o: { project: string; tier: Tier; version: string | null; scratch: string; passphraseFile?: string },
): Promise<OdooStart> {
  const task = await drillTask(engine, pd, o.project, o.tier, o.version, o.scratch, o.passphraseFile);
  const r = await engine.runTask(task, [
    'odoo',
    '--stop-after-init',
    '--no-http',
    '--workers=0',
    '--max-cron-threads=0',
    '-d',
    o.scratch,
  ]);
  const output = r.output.trim().split('\n').slice(-15).join('\n');
  if (r.exitCode !== 0) {
    throw new OdpError(
      'ENGINE',
      `Odoo (${task.service.image}) exited with code ${r.exitCode} on the restored database`,
      {
        detail: output,
      },
    );
  }
  return { image: task.service.image, output };
}
