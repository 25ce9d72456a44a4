// `odp secrets show|get|set|edit|rotate`: a project's encrypted secrets
// (projects/<name>.env.gpg). Values never come from argv and are printed only
// by `get` and `show --reveal`, the two reads a user asks for by name.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { OdpError } from '../errors.js';
import { Secret } from '../secret.js';
import { askHidden, readPassphraseFile } from '../secrets/passphrase.js';
import { GENERATED_KEYS } from '../secrets/generate.js';
import { handler, withJson } from './command.js';

// Loaded on use, not at start-up: the store brings OpenPGP, the loader YAML and the schemas.
const ops = () => import('../ops/secrets.js');

interface Common {
  passphraseFile?: string;
}

const PASSPHRASE_FLAG = [
  '--passphrase-file <file>',
  'read the passphrase from the first line of FILE (default: $ODP_PASSPHRASE, else a prompt)',
] as const;

export function registerSecrets(program: Command): void {
  const group = program
    .command('secrets')
    .description("Show and change a project's encrypted secrets (projects/<project>.env.gpg)")
    .addHelpText(
      'after',
      `
The file is an OpenPGP message (gpg --symmetric --cipher-algo AES256) holding
\`export KEY='value'\` lines. KEY applies to every instance; PROD__KEY,
INTEGRATION__KEY and TEST__KEY to one. The passphrase comes from
--passphrase-file, else $ODP_PASSPHRASE, else a prompt on the terminal.

Examples:
  odp secrets show neomedical
  odp secrets get neomedical DB_PASSWORD --instance prod
  printf %s "$KEY" | odp secrets set neomedical AWS_SECRET_ACCESS_KEY --stdin
  odp secrets edit neomedical
  odp secrets rotate neomedical --instance prod --key DB_PASSWORD`,
    );

  const cmd = (name: string) =>
    group
      .command(name)
      .exitOverride()
      .option(...PASSPHRASE_FLAG);

  withJson(cmd('show'))
    .description('list the keys by scope (all instances, test, integration, prod), values masked')
    .argument('<project>')
    .option('--reveal', 'print the values instead of masks')
    .action(
      handler(async (ctx, project: string, opts: Common & { reveal?: boolean }) => {
        const { openSecrets, groupByScope, SCOPES } = await ops();
        const s = await openSecrets(ctx.dir, project, opts);
        const groups = groupByScope(s.values, Boolean(opts.reveal));
        ctx.out.data({ project, file: s.file, scopes: groups });
        for (const scope of SCOPES) {
          const entries = Object.entries(groups[scope]);
          if (entries.length === 0) continue;
          ctx.out.line(scope === 'all' ? 'all instances:' : `${scope}:`);
          const width = Math.max(...entries.map(([k]) => k.length));
          for (const [k, v] of entries) ctx.out.line(`  ${k.padEnd(width)}  ${v}`);
        }
        if (s.values.size === 0) ctx.out.line('(no secrets)');
      }),
    );

  cmd('get')
    .description('print one value (as the instance sees it, with --instance)')
    .argument('<project>')
    .argument('<key>')
    .option('--instance <env>', 'test, integration or prod: its scoped value, else the shared one')
    .action(
      handler(async (ctx, project: string, key: string, opts: Common & { instance?: string }) => {
        const { openSecrets, parseInstance } = await ops();
        const { secretsForInstance } = await import('../secrets/scope.js');
        const instance = parseInstance(opts.instance);
        const s = await openSecrets(ctx.dir, project, opts);
        const value = instance ? secretsForInstance(s.values, instance).get(key) : s.values.get(key);
        if (!value) {
          throw new OdpError(
            'NOT_FOUND',
            `no secret ${key}${instance ? ` for ${instance}` : ''} in ${s.file}`,
            {
              hint: `\`odp secrets show ${project}\` lists the keys.`,
            },
          );
        }
        ctx.out.line(value.reveal());
      }),
    );

  cmd('set')
    .description('set one value, read from a file, stdin or a prompt (never from the command line)')
    .argument('<project>')
    .argument('<key>')
    .option('--instance <env>', 'store it for one instance only (test, integration or prod)')
    .option('--value-file <file>', 'read the value from FILE (one trailing newline is dropped)')
    .option('--stdin', 'read the value from stdin (one trailing newline is dropped)')
    .addHelpText('after', '\nCreates the secrets file if absent (the passphrase is then asked twice).')
    .action(
      handler(
        async (
          ctx,
          project: string,
          key: string,
          opts: Common & { instance?: string; valueFile?: string; stdin?: boolean },
        ) => {
          const { openSecrets, parseInstance, saveSecrets, storedKey } = await ops();
          const stored = storedKey(key, parseInstance(opts.instance));
          if (opts.valueFile && opts.stdin) throw new OdpError('USAGE', 'use either --value-file or --stdin');
          // A file or stdin is read first: a missing file should not cost a passphrase prompt.
          const given = opts.valueFile || opts.stdin ? await readValue(opts, stored) : undefined;
          const s = await openSecrets(ctx.dir, project, { ...opts, create: true });
          const value = given ?? (await readValue(opts, stored));
          const existed = s.values.get(stored);
          if (existed?.equals(value)) {
            ctx.out.line(`${stored} unchanged`);
            return;
          }
          s.values.set(stored, value);
          await saveSecrets(s, s.values);
          ctx.out.line(
            `${existed ? 'updated' : 'added'} ${stored} in ${s.file}${s.original ? '' : ' (new file)'}`,
          );
        },
      ),
    );

  cmd('edit')
    .description('decrypt into a private temp file, open $VISUAL/$EDITOR (default vi), re-encrypt')
    .argument('<project>')
    .addHelpText(
      'after',
      '\nIf the result does not parse, nothing changes and the temp file is kept so the edit is not lost.',
    )
    .action(
      handler(async (ctx, project: string, opts: Common) => {
        const { editSecrets } = await ops();
        const diff = await editSecrets(ctx.dir, project, opts);
        const parts = (['added', 'changed', 'removed'] as const).filter((k) => diff[k].length > 0);
        if (parts.length === 0) ctx.out.line('no changes');
        for (const k of parts) ctx.out.line(`${k}: ${diff[k].join(', ')}`);
      }),
    );

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
    .addHelpText(
      'after',
      `
Without --new-passphrase(-file) the passwords are rotated; with it alone, only
the passphrase changes; with it and --instance/--key, both.
A rotated DB_PASSWORD must then be applied to the database role: run
\`odp provision PROJECT\`, then redeploy the instance.

Examples:
  odp secrets rotate neomedical
  odp secrets rotate neomedical --instance prod --key ADMIN_PASSWD
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
          let passphrase = s.passphrase;
          if (opts.newPassphraseFile) passphrase = await readPassphraseFile(opts.newPassphraseFile);
          else if (opts.newPassphrase) {
            const asked = await askHidden('New passphrase: ', 'Repeat the new passphrase: ');
            if (!asked)
              throw new OdpError('SECRETS_NO_PASSPHRASE', 'no new passphrase given; nothing was changed');
            passphrase = asked;
          }
          const rotate = !newPass || requested.length > 0 || keys.length > 0;
          const instances = requested.length > 0 ? requested : projectInstances(s.project);
          const rotated = rotate
            ? rotatePasswords(s.values, instances, keys.length > 0 ? keys : GENERATED_KEYS)
            : [];
          await saveSecrets(s, s.values, passphrase);
          ctx.out.data({ project, file: s.file, rotated, reencrypted: newPass });
          for (const k of rotated) ctx.out.line(`rotated ${k}`);
          if (newPass) ctx.out.line(`re-encrypted ${s.file} under the new passphrase`);
          if (rotated.some((k) => k.endsWith('__DB_PASSWORD'))) {
            ctx.out.note(`Apply the new database passwords to the roles: odp provision ${project}`);
          }
        },
      ),
    );
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The value for `set`: a file, stdin, or a hidden prompt; argv is visible to everyone in `ps`. */
async function readValue(opts: { valueFile?: string; stdin?: boolean }, key: string): Promise<Secret> {
  const dropNewline = (t: string) => t.replace(/\r?\n$/, '');
  if (opts.valueFile) {
    const text = await readFile(opts.valueFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new OdpError(e.code === 'ENOENT' ? 'NOT_FOUND' : 'USAGE', `cannot read ${opts.valueFile}`, {
        cause: e,
      });
    });
    return new Secret(dropNewline(text));
  }
  if (opts.stdin) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return new Secret(dropNewline(Buffer.concat(chunks).toString('utf8')));
  }
  const asked = await askHidden(`Value for ${key}: `, `Repeat the value for ${key}: `);
  if (asked === undefined) {
    throw new OdpError('USAGE', `no value for ${key}`, {
      hint: 'Pass --value-file FILE or --stdin (values never go on the command line).',
    });
  }
  return new Secret(asked);
}
