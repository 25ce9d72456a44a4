import type { Command } from 'commander';
import type { NewProjectOptions, ToFill } from '../ops/project/project-new.js';
import { handler, withJson, type Ctx } from './command.js';
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
        // The commands to fill things in, as they paste: with --dir when it was given.
        const toFill = r.toFill.map((f) => ({ ...f, how: f.command ? odpCommand(ctx, f.command) : f.how }));
        ctx.out.data({ ...r, toFill });
        if (opts.dryRun) {
          ctx.out.line(`# ==> ${r.file} <==`);
          ctx.out.line(r.yaml.replace(/\n$/, ''));
          ctx.out.line(`# secrets (generated, not shown): ${r.secretKeys.join(', ')}`);
          ctx.out.line(
            `# ${r.database}: a random name (such as coastal_oak_5654, never the customer's), drawn when the file is written`,
          );
        } else {
          for (const f of [r.file, ...r.schemas]) ctx.out.line(`created ${f}`);
          ctx.out.line(`  database    ${r.database} (integration: ${r.database}_integration)`);
          for (const [inst, d] of Object.entries(r.domains)) ctx.out.line(`  ${inst.padEnd(12)}https://${d}`);
          ctx.out.line(`  buckets     ${Object.values(r.buckets).join(', ')}`);
          const passwords = r.secretKeys.filter((k) => k.includes('__')).length;
          const storage = r.secretKeys.length > passwords ? ' and the embedded storage keys' : '';
          ctx.out.line(`  secrets     ${passwords} generated passwords${storage}, encrypted`);
          ctx.out.line(`  image       ${r.image}${r.imageIsPlaceholder ? '   (a placeholder)' : ''}`);
        }
        if (toFill.length > 0) {
          ctx.out.line('to fill in:');
          for (const f of toFill) ctx.out.line(`  ${f.what}: ${f.how}`);
        }
        if (opts.dryRun) {
          ctx.out.note('dry run: nothing written');
          return 0;
        }
        ctx.out.line(`next: ${nextStep(ctx, toFill)}`);
        return 0;
      }),
    );
}

/**
 * The step that works next: a secret only the user has (check would fail
 * without it), else `check`. A placeholder image is no failure of check: it
 * lists it to fill in.
 */
function nextStep(ctx: Ctx, toFill: ToFill[]): string {
  const check = odpCommand(ctx, 'check');
  const commands = toFill.filter((f) => f.command);
  const first = commands[0];
  if (!first) return `${check}   (the spec, the rules and every instance's secrets)`;
  const rest = commands.length - 1;
  const then = rest > 0 ? `then the other ${rest} under "to fill in:", then ${check}` : `then ${check}`;
  return `${first.how}   (asks for the value; ${then})`;
}

type NewProjectFlags = NewProjectOptions;
