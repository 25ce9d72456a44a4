// `odp secrets show|get|set|edit|rotate|recipients`: a project's encrypted
// secrets (projects/<name>.env.gpg). Values never come from argv and are
// printed only by `get` and `show --reveal`, the two reads a user asks for by
// name. All but `rotate` are shared with `odp platform secrets` (secrets-commands.ts).
import type { Command } from 'commander';
import { OdpError } from '../errors.js';
import { GENERATED_KEYS } from '../secrets/generated-keys.js';
import type { KeySource } from '../secrets/lock.js';
import { handler, withJson } from './command.js';
import { FLAGS } from './conventions.js';
import { addSecretsCommands, keyFlags } from './secrets-commands.js';

type Common = KeySource;

// Loaded on use, not at start-up: the store brings OpenPGP, the loader YAML and the schemas.
const ops = () => import('../ops/secrets/secrets.js');

export function registerSecrets(program: Command): void {
  const group = program
    .command('secrets')
    .description("Show and change a project's encrypted secrets (projects/<project>.env.gpg)")
    .addHelpText(
      'after',
      `
The file is an OpenPGP message holding \`export KEY='value'\` lines. KEY
applies to every instance; PROD__KEY, INTEGRATION__KEY and TEST__KEY to one.
Either a passphrase file (gpg --symmetric --cipher-algo AES256; the passphrase
comes from --passphrase-file, else $ODP_PASSPHRASE, else a prompt) or a
recipients file (gpg --encrypt -r A -r B; your private key comes from
--key-file or $ODP_KEY_FILE): the file itself tells which.

Examples:
  odp secrets show neomedical
  odp secrets get neomedical DB_PASSWORD --instance prod
  printf %s "$KEY" | odp secrets set neomedical AWS_SECRET_ACCESS_KEY --stdin
  odp secrets edit neomedical
  odp secrets rotate neomedical --instance prod --key DB_PASSWORD
  odp secrets recipients add neomedical ada.asc`,
    );

  addSecretsCommands(group, 'project');

  const cmd = (name: string) => keyFlags(group.command(name).exitOverride());

  withJson(cmd('rotate'))
    .description(
      'regenerate DB_PASSWORD / ADMIN_PASSWD per instance, and/or re-encrypt under a new passphrase',
    )
    .argument('<project>')
    .option('--instance <env>', 'only this instance (repeatable; default: all of the project)', collect)
    .option(
      '--key <key>',
      `only this key: ${GENERATED_KEYS.join(' or ')} (repeatable; default: both)`,
      collect,
    )
    .option('--new-passphrase-file <file>', 're-encrypt under the passphrase on the first line of FILE')
    .option('--new-passphrase', 're-encrypt under a new passphrase asked on the terminal')
    .option(
      FLAGS.dryRun.flags,
      'list the keys that would be rotated and write nothing (asks no new passphrase)',
    )
    .addHelpText(
      'after',
      `
Without --new-passphrase(-file) the passwords are rotated; with it alone, only
the passphrase changes; with it and --instance/--key, both.
A rotated DB_PASSWORD of integration or prod must then be applied to the
database role: run \`odp provision PROJECT INSTANCE\`, then redeploy the
instance (test's database is rebuilt by \`odp deploy PROJECT test\`).

Examples:
  odp secrets rotate neomedical
  odp secrets rotate neomedical --instance prod --key ADMIN_PASSWD --dry-run
  odp secrets rotate neomedical --new-passphrase-file ~/new-passphrase`,
    )
    .action(
      handler(
        async (
          ctx,
          project: string,
          opts: Common & {
            instance?: string[];
            key?: string[];
            newPassphraseFile?: string;
            newPassphrase?: boolean;
            dryRun?: boolean;
          },
        ) => {
          const { openSecrets, parseInstance, projectInstances, rotatePasswords, saveSecrets } = await ops();
          const keys = [...new Set(opts.key ?? [])];
          const unknown = keys.filter((k) => !(GENERATED_KEYS as readonly string[]).includes(k));
          if (unknown.length > 0) {
            throw new OdpError('USAGE', `cannot rotate ${unknown.join(', ')}`, {
              hint: `odp generates only ${GENERATED_KEYS.join(' and ')}; change others with \`odp secrets set\`.`,
            });
          }
          const requested = [...new Set(opts.instance ?? [])].map((i) => parseInstance(i)!);
          const newPass = Boolean(opts.newPassphraseFile || opts.newPassphrase);
          const s = await openSecrets(ctx.dir, project, opts);
          let lock = s.lock;
          if (opts.newPassphraseFile) {
            const { readPassphraseFile } = await import('../secrets/passphrase.js');
            lock = { mode: 'passphrase', passphrase: await readPassphraseFile(opts.newPassphraseFile) };
          } else if (opts.newPassphrase && !opts.dryRun) {
            const { askHidden } = await import('../secrets/passphrase.js');
            const asked = await askHidden('New passphrase: ', 'Repeat the new passphrase: ');
            if (!asked)
              throw new OdpError('SECRETS_NO_PASSPHRASE', 'no new passphrase given; nothing was changed');
            lock = { mode: 'passphrase', passphrase: asked };
          }
          const rotate = !newPass || requested.length > 0 || keys.length > 0;
          const instances = requested.length > 0 ? requested : projectInstances(s.target.project!);
          const rotated = rotate
            ? rotatePasswords(s.values, instances, keys.length > 0 ? keys : GENERATED_KEYS)
            : [];
          const dry = Boolean(opts.dryRun);
          if (!dry) await saveSecrets(s, s.values, lock);
          ctx.out.data({ project, file: s.file, rotated, reencrypted: newPass, dryRun: dry });
          for (const k of rotated) ctx.out.line(`${dry ? 'would rotate' : 'rotated'} ${k}`);
          if (newPass)
            ctx.out.line(`${dry ? 'would re-encrypt' : 're-encrypted'} ${s.file} under the new passphrase`);
          if (dry) {
            ctx.out.note('dry run: nothing written');
            return;
          }
          for (const k of rotated.filter((k) => k.endsWith('__DB_PASSWORD'))) {
            const instance = k.split('__')[0]!.toLowerCase();
            ctx.out.note(
              instance === 'test'
                ? `Apply the new test database password: odp deploy ${project} test`
                : `Apply the new database password to the role: odp provision ${project} ${instance}, then redeploy ${instance}`,
            );
          }
        },
      ),
    );
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
