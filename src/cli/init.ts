import type { Command } from 'commander';
import { handler } from './command.js';

export function registerInit(program: Command): void {
  program
    .command('init [dir]')
    .description('create a platform directory with a commented platform.yaml')
    .option('--domain <domain>', 'parent domain of the instances', 'odoo.example.com')
    .option('--email <email>', 'ACME contact email', 'admin@example.com')
    .option('--name <name>', 'platform name (default: the directory name)')
    .addHelpText(
      'after',
      '\nExamples:\n  odp init my-platform --domain odoo.example.ch --email ops@example.ch',
    )
    .action(
      handler(
        async (ctx, dir: string | undefined, opts: { domain: string; email: string; name?: string }) => {
          const target = dir ?? ctx.dir;
          const { initPlatform } = await import('../ops/init.js');
          const written = await initPlatform(target, opts);
          for (const f of written) ctx.out.line(`created ${f}`);
          ctx.out.line(`next: odp --dir ${target} project new NAME --client "Customer SA" --plan standard`);
          return 0;
        },
      ),
    );
}
