import type { Command } from 'commander';
import { checked, handler, positiveNumber, withJson } from './command.js';
import type { DeployFlags } from './deploy-flags.js';

export function registerDeploy(program: Command): void {
  withJson(
    program
      .command('deploy <project> <instance>')
      .description('deploy an instance; test is rebuilt from scratch with its small data set')
      .option('--tag <tag>', 'image tag to deploy on test (default: the spec, usually latest)')
      .option(
        '--branch <name>',
        "test only: the branch's own ephemeral instance, on <branch-slug>.<test domain>",
      )
      .option('--version <X.Y.Z>', 'version to deploy on integration or prod (default: the spec)')
      .option('--dry-run', 'print the plan and change nothing')
      .option(
        '--health-timeout <seconds>',
        'how long a service may take to become healthy',
        checked((v) => positiveNumber(v, '--health-timeout')),
        600,
      )
      .option('--no-wait', 'stop at once if another operation holds the instance')
      .option('--passphrase-file <file>', 'secrets passphrase file'),
  )
    .addHelpText(
      'after',
      `
Examples:
  odp deploy neomedical test               # after every commit on master
  odp deploy neomedical test --dry-run     # the plan, one line per step
  odp deploy neomedical test --tag 10.0.3  # try a release on test
  odp deploy neomedical test --branch feature/login   # its own instance; image <slug>-<sha> from odp publish
  odp deploy neomedical prod --version 10.0.3 --dry-run   # image change, pending migrations, replicas, backup
  odp deploy neomedical prod --version 10.0.3             # replicas replaced one at a time`,
    )
    .action(
      handler(async (ctx, project: string, instance: string, opts: DeployFlags) => {
        const { deployAction } = await import('./deploy-action.js');
        return deployAction(ctx, project, instance, opts);
      }),
    );
}
