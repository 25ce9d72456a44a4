// `odp render PROJECT INSTANCE`: the files of one instance, as a Compose file
// for one Docker host or as the original Rancher stack. On stdout they are for
// reading (secrets masked, and rendering works without the passphrase); with
// --out they are for running (real secrets, in a 0600 .env or encrypted).
import { Option, type Command } from 'commander';
import { instanceNames } from '../platform-spec/instance-names.js';
import { handler, withJson } from './command.js';
import type { RenderOptions } from './render-action.js';

export function registerRender(program: Command): void {
  withJson(program.command('render'))
    .description(
      'print or write the files of one instance: a Compose file, or the original Rancher stack files',
    )
    .argument('<project>', 'project name (projects/<project>.yaml)')
    .argument('<instance>', `one of ${instanceNames.join(', ')}`)
    .addOption(
      new Option('--format <format>', 'compose: one Docker host; rancher: the original layout')
        .choices(['compose', 'rancher'])
        .default('compose'),
    )
    .option('--out <dir>', 'write the files into DIR with the real secrets instead of printing them masked')
    .option(
      '--passphrase-file <file>',
      'read the passphrase from the first line of FILE (default: $ODP_PASSPHRASE, else a prompt)',
    )
    .option('--key-file <file>', 'your private key, for recipients-mode secrets (default: $ODP_KEY_FILE)')
    .addHelpText(
      'after',
      `
Without --out the files go to stdout, each after a "# ==> NAME <==" line, with
secrets masked; this works without the passphrase. With --out DIR:
  compose  DIR/docker-compose.yml + DIR/.env (mode 0600, the secrets)
  rancher  DIR/docker-compose.yml, rancher-compose.yml, rancher.public.env and
           rancher.env.gpg (encrypted as the project's secrets are: with its
           passphrase, or to its recipients; gpg-compatible)
Nothing is written through a symbolic link: a link at any of these files, or
DIR itself being a link, is refused and nothing is written (name the real
directory, e.g. --out "$(realpath DIR)", if a link's target is where they go).

Examples:
  odp render neomedical test
  odp render neomedical prod --format rancher
  odp render neomedical integration --out /srv/neomedical-int && docker compose -f /srv/neomedical-int/docker-compose.yml up -d
  odp render neomedical prod --format rancher --out rancher/neomedical-odoo-prod --passphrase-file ~/.odp-pass
  odp render neomedical prod --json | jq -r '.files["docker-compose.yml"]'`,
    )
    .action(
      handler(async (ctx, project: string, instance: string, opts: RenderOptions) => {
        const { renderAction } = await import('./render-action.js');
        return renderAction(ctx, project, instance, opts);
      }),
    );
}
