import type { Command } from 'commander';
import type { NewProjectOptions } from '../ops/project/project-new.js';
import { handler, withJson } from './command.js';
import { odpCommand } from './next.js';

export function registerProject(program: Command): void {
  const project = program.command('project').description('manage customer projects');
  withJson(
    project
      .command('new <name>')
      .description('onboard a project: spec, random database name, generated passwords (encrypted)')
      .requiredOption('--client <name>', "the customer's name (never used in database names)")
      .requiredOption('--plan <plan>', 'customer plan from platform.yaml')
      .option('--image <repository>', 'Odoo image repository (without tag)')
      .option(
        '--flavour <flavour>',
        'camptocamp (docker-odoo-project) or official (odoo image)',
        'camptocamp',
      )
      .option('--series <series>', 'Odoo series', '16.0')
      .option('--version <version>', 'first pinned version of integration and prod (default <series>.0)')
      .option(
        '--passphrase-file <file>',
        'passphrase for the new secrets file (unless keys/ holds team keys)',
      )
      .option('--dry-run', 'print what would be written and write nothing'),
  )
    .addHelpText(
      'after',
      `
Examples:
  odp project new neomedical --client "Neomedical SA" --plan standard --image ghcr.io/acme/neomedical_odoo
  ODP_PASSPHRASE=… odp project new acme --client "ACME Corp" --plan large --series 17.0 --dry-run`,
    )
    .action(
      handler(async (ctx, name: string, opts: NewProjectFlags) => {
        const { newProject } = await import('../ops/project/project-new.js');
        const r = await newProject(ctx.dir, name, opts);
        ctx.out.data(r);
        if (opts.dryRun) {
          ctx.out.line(r.yaml);
          ctx.out.line(`# secrets (generated, not shown): ${r.secretKeys.join(', ')}`);
          ctx.out.note('dry run: nothing written');
          return 0;
        }
        ctx.out.line(`created ${r.file}`);
        ctx.out.line(`  database    ${r.database} (integration: ${r.database}_integration)`);
        for (const [inst, d] of Object.entries(r.domains)) ctx.out.line(`  ${inst.padEnd(12)}https://${d}`);
        ctx.out.line(`  buckets     ${Object.values(r.buckets).join(', ')}`);
        const passwords = r.secretKeys.filter((k) => k.includes('__')).length;
        const storage = r.secretKeys.length > passwords ? ' and the embedded storage keys' : '';
        ctx.out.line(`  secrets     ${passwords} generated passwords${storage}, encrypted`);
        ctx.out.line(`  image       ${r.image}${r.imageIsPlaceholder ? '   (a placeholder)' : ''}`);
        if (r.toFill.length > 0) {
          ctx.out.line('to fill in:');
          for (const f of r.toFill) ctx.out.line(`  ${f.what}: ${f.how}`);
        }
        ctx.out.line(
          `next: ${odpCommand(ctx, 'check')}   (the spec, the rules and every instance's secrets)`,
        );
        return 0;
      }),
    );
}

type NewProjectFlags = NewProjectOptions;
