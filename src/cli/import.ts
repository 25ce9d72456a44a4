// `odp import rancher STACK_DIR`: brings one instance of the original platform
// (a Rancher stack directory) under odp: projects/<name>.yaml plus the
// project's encrypted secrets, such that rendering it gives the stack back.
import type { Command } from 'commander';
import { instanceNames, requireInstanceName, type InstanceName } from '../platform-spec/instance-names.js';
import { handler, withJson } from './command.js';
import { odpCommand } from './next.js';

interface ImportOptions {
  project: string;
  instance: string;
  client?: string;
  odooSeries?: string;
  passphraseFile?: string;
  keyFile?: string;
  stackPassphraseFile?: string;
  dryRun?: boolean;
}

export function registerImport(program: Command): void {
  const group = program.command('import').description('bring existing deployments under odp');

  withJson(group.command('rancher').exitOverride())
    .description('import one instance from a Rancher stack directory of the original platform')
    .argument(
      '<stack-dir>',
      'directory with docker-compose.yml, rancher.public.env, rancher.env.gpg (or rancher.env)',
    )
    .requiredOption('--project <name>', 'the odp project to create or update')
    .requiredOption('--instance <instance>', `which instance the stack is: ${instanceNames.join(', ')}`)
    .option(
      '--client <name>',
      "the customer's name, for a new project (default: the project's name, capitalised, with a warning)",
    )
    .option('--odoo-series <series>', 'Odoo series such as 16.0, when the image tag does not tell it')
    .option(
      '--passphrase-file <file>',
      'the project passphrase, first line of FILE (default: $ODP_PASSPHRASE, else a prompt)',
    )
    .option('--key-file <file>', 'your private key, for recipients-mode secrets (default: $ODP_KEY_FILE)')
    .option(
      '--stack-passphrase-file <file>',
      "the passphrase of the stack's rancher.env.gpg, when not the project's",
    )
    .option('--dry-run', 'print the change to the project YAML and the secret names; write nothing')
    .addHelpText(
      'after',
      `
The image tag becomes the version (integration, prod) or tag (test); DOMAIN_NAME
the domain; DB_NAME/DB_USER the database; WORKERS and the limits pick the plan
whose numbers match exactly. Every other variable whose value differs from what
odp computes is kept as an env override of the instance, and secret variables go
to projects/<project>.env.gpg scoped to the instance (INTEGRATION__DB_PASSWORD…),
so \`odp render PROJECT INSTANCE --format rancher\` gives the stack back.
Comments and other fields of an existing project file are kept.

Examples:
  odp import rancher ../rancher-templates/neomedical-odoo-prod --project neomedical --instance prod --client "Neomedical SA"
  odp import rancher rancher/neomedical-odoo-integration --project neomedical --instance integration --dry-run`,
    )
    .action(
      handler(async (ctx, stackDir: string, opts: ImportOptions) => {
        const instance = requireInstanceName(opts.instance);
        const { importRancher } = await import('../ops/project/import-rancher.js');
        const r = await importRancher({
          dir: ctx.dir,
          stackDir,
          project: opts.project,
          instance: instance as InstanceName,
          client: opts.client,
          odooSeries: opts.odooSeries,
          passphraseFile: opts.passphraseFile,
          keyFile: opts.keyFile,
          stackPassphraseFile: opts.stackPassphraseFile,
          dryRun: opts.dryRun,
        });
        for (const w of r.warnings) ctx.out.note(`warning: ${w}`);
        ctx.out.data({
          project: opts.project,
          instance,
          created: r.created,
          written: r.written,
          projectFile: r.projectFile,
          secretsFile: r.secretsFile,
          plan: r.plan,
          env: r.env,
          secrets: r.changedSecrets,
          diff: r.diff,
          warnings: r.warnings,
          schemas: r.schemas,
        });
        if (opts.dryRun) {
          ctx.out.line(r.diff === '' ? `${r.projectFile}: no change` : r.diff.replace(/\n$/, ''));
          ctx.out.line(
            r.changedSecrets.length > 0
              ? `secrets to write to ${r.secretsFile}: ${r.changedSecrets.join(', ')}`
              : `no secret to change in ${r.secretsFile}`,
          );
          ctx.out.line('dry run: nothing was written');
          return 0;
        }
        ctx.out.line(
          `${r.created ? 'created' : 'updated'} ${r.projectFile} (${opts.project}/${instance}, plan ${r.plan})`,
        );
        for (const f of r.schemas) ctx.out.line(`created ${f}`);
        const overrides = Object.keys(r.env);
        if (overrides.length > 0) ctx.out.line(`env overrides: ${overrides.join(', ')}`);
        if (r.changedSecrets.length > 0)
          ctx.out.line(`secrets written to ${r.secretsFile}: ${r.changedSecrets.join(', ')}`);
        const render = odpCommand(ctx, `render ${opts.project} ${instance} --format rancher`);
        ctx.out.line(`next: ${odpCommand(ctx, 'check')} && ${render}`);
        return 0;
      }),
    );
}
