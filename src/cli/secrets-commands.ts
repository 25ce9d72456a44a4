// The secrets commands shared by `odp secrets …` (a project's file, keys
// scoped per instance) and `odp platform secrets …` (platform.env.gpg): one
// implementation, registered twice; the project form takes PROJECT first.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { OdpError } from '../errors.js';
import type { SecretsTarget } from '../ops/secrets/secrets.js';
import { Secret } from '../secret.js';
import type { KeySource } from '../secrets/lock.js';
import { secretsForInstance } from '../secrets/scope.js';
import { handler, withExamples, withJson, type Ctx } from './command.js';
import { missingKey } from './missing-secret.js';
import { odpCommand } from './next.js';

// Loaded on use, not at start-up: the store brings OpenPGP, the loader YAML and the schemas.
const ops = () => import('../ops/secrets/secrets.js');
const recipients = () => import('../ops/secrets/secrets-recipients.js');

export type Kind = 'project' | 'platform';
type Opts = KeySource & Record<string, unknown>;

/** Adds --passphrase-file and --key-file, the two ways to open a file without argv secrets. */
export function keyFlags(cmd: Command): Command {
  return cmd
    .option(
      '--passphrase-file <file>',
      'passphrase files: its first line is the passphrase (default: $ODP_PASSPHRASE, else a prompt)',
    )
    .option(
      '--key-file <file>',
      'recipients files: your armored private key (default: $ODP_KEY_FILE; its passphrase: $ODP_KEY_PASSPHRASE or a prompt)',
    );
}

/** A handler whose first positional is the project (project kind) and whose body gets the target. */
function targeted(
  kind: Kind,
  body: (ctx: Ctx, t: SecretsTarget, args: string[], opts: Opts) => Promise<number | void>,
) {
  return handler(async (ctx, ...args: unknown[]) => {
    const opts = args[args.length - 1] as Opts;
    const pos = (args.slice(0, -1) as (string | string[])[]).flat(); // a variadic arrives as an array
    const target =
      kind === 'project'
        ? await (await ops()).projectTarget(ctx.dir, pos.shift()!)
        : await (await ops()).platformTarget(ctx.dir);
    return body(ctx, target, pos, opts);
  });
}

export function addSecretsCommands(group: Command, kind: Kind): void {
  const cmd = (name: string) => {
    const c = keyFlags(group.command(name).exitOverride());
    return kind === 'project' ? c.argument('<project>') : c;
  };
  const instanceFlag = (c: Command, text: string) =>
    kind === 'project' ? c.option('--instance <env>', text) : c;
  // The examples name the example platform's project, or the platform's own file.
  const [odp, key] =
    kind === 'project'
      ? ['odp secrets', 'AWS_SECRET_ACCESS_KEY']
      : ['odp platform secrets', 'WEBHOOK_SECRET'];
  const p = kind === 'project' ? ' neomedical' : '';

  const show = withJson(cmd('show'))
    .description(
      kind === 'project'
        ? 'list the keys by scope (all instances, test, integration, prod), values masked'
        : 'list the keys, values masked',
    )
    .option('--reveal', 'print the values instead of masks');
  withExamples(show, [`${odp} show${p}`, `${odp} show${p} --json | jq '.scopes'`]).action(
    targeted(kind, async (ctx, t, _args, opts) => {
      const s = await (await ops()).openTarget(t, opts);
      const groups = (await ops()).groupByScope(s.values, Boolean(opts.reveal));
      ctx.out.data({
        ...(t.project ? { project: t.label } : {}),
        file: s.file,
        mode: s.lock.mode,
        scopes: groups,
      });
      for (const scope of (await ops()).SCOPES) {
        const entries = Object.entries(groups[scope]);
        if (entries.length === 0) continue;
        const indent = t.project ? '  ' : '';
        if (t.project) ctx.out.line(scope === 'all' ? 'all instances:' : `${scope}:`);
        const width = Math.max(...entries.map(([k]) => k.length));
        for (const [k, v] of entries) ctx.out.line(`${indent}${k.padEnd(width)}  ${v}`);
      }
      if (s.values.size === 0) ctx.out.line('(no secrets)');
    }),
  );

  const get = withJson(
    instanceFlag(
      cmd('get').argument('<key>').description('print one value'),
      'test, integration or prod: its scoped value, else the shared one',
    ),
  );
  withExamples(
    get,
    kind === 'project'
      ? [`${odp} get${p} DB_PASSWORD --instance prod`, `${odp} get${p} ${key} --json`]
      : [`${odp} get ${key}`, `${odp} get ${key} --json | jq -r .value`],
  ).action(
    targeted(kind, async (ctx, t, [key], opts) => {
      const instance = (await ops()).parseInstance(opts.instance as string | undefined);
      const s = await (await ops()).openTarget(t, opts);
      const value = instance ? secretsForInstance(s.values, instance).get(key!) : s.values.get(key!);
      if (!value) throw missingKey(kind, t.label, key!, instance, s, (rest) => odpCommand(ctx, rest));
      ctx.out.data({ key, ...(instance ? { instance } : {}), value: value.reveal() });
      ctx.out.line(value.reveal());
    }),
  );

  const set = instanceFlag(
    cmd('set')
      .argument('<key>')
      .description('set one value, read from a file, stdin or a prompt (never from the command line)'),
    'store it for one instance only (test, integration or prod)',
  )
    .option('--value-file <file>', 'read the value from FILE (one trailing newline is dropped)')
    .option('--stdin', 'read the value from stdin (one trailing newline is dropped)')
    .option('--dry-run', 'say what would change and write nothing')
    .addHelpText(
      'after',
      '\nCreates the file if absent: encrypted to the keys in keys/ when there are any, else under a passphrase (asked twice).',
    );
  withExamples(set, [
    `printf %s "$VALUE" | ${odp} set${p} ${key} --stdin`,
    `${odp} set${p} ${key} --value-file ./value.txt --dry-run`,
  ]).action(
    targeted(kind, async (ctx, t, [key], opts) => {
      const stored = (await ops()).storedKey(
        key!,
        (await ops()).parseInstance(opts.instance as string | undefined),
      );
      if (opts.valueFile && opts.stdin) throw new OdpError('USAGE', 'use either --value-file or --stdin');
      // A file or stdin is read first: a missing file should not cost a passphrase prompt.
      const given = opts.valueFile || opts.stdin ? await readValue(opts, stored) : undefined;
      const s = await (await ops()).openTarget(t, { ...opts, create: true });
      const value = given ?? (await readValue(opts, stored));
      const existed = s.values.get(stored);
      if (existed?.equals(value)) {
        ctx.out.line(`${stored} unchanged`);
        return;
      }
      const what = `${existed ? 'updated' : 'added'} ${stored} in ${s.file}${s.original ? '' : ' (new file)'}`;
      if (opts.dryRun) {
        ctx.out.line(`would have ${what}; dry run: nothing written`);
        return;
      }
      s.values.set(stored, value);
      await (await ops()).saveSecrets(s, s.values);
      ctx.out.line(what);
    }),
  );

  const edit = cmd('edit')
    .description('decrypt into a private temp file, open $VISUAL/$EDITOR (default vi), re-encrypt')
    .addHelpText(
      'after',
      "\nThe editor runs without odp's secret variables (ODP_*, *PASSWORD*, *SECRET*, *TOKEN*…).\nIf the result does not parse, nothing changes and the temp file is kept so the edit is not lost.",
    );
  withExamples(edit, [`${odp} edit${p}`, `EDITOR=nano ${odp} edit${p}`]).action(
    targeted(kind, async (ctx, t, _args, opts) => {
      const diff = await (await import('../ops/secrets/secrets-edit.js')).editSecrets(t, opts);
      const parts = (['added', 'changed', 'removed'] as const).filter((k) => diff[k].length > 0);
      if (parts.length === 0) ctx.out.line('no changes');
      for (const k of parts) ctx.out.line(`${k}: ${diff[k].join(', ')}`);
    }),
  );

  addRecipientsCommands(group, kind);
}

function addRecipientsCommands(group: Command, kind: Kind): void {
  const who = kind === 'project' ? 'PROJECT ' : '';
  const base = kind === 'project' ? 'odp secrets recipients' : 'odp platform secrets recipients';
  const r = group
    .command('recipients')
    .description('the OpenPGP public keys the file is encrypted to (instead of a passphrase)')
    .addHelpText(
      'after',
      `
Each recipient opens the file with its own private key (ODP_KEY_FILE), and
\`gpg --decrypt\` with any of those keys opens it too. Public keys live in
keys/<FINGERPRINT>.asc; new secrets files are encrypted to all of them.

Examples:
  ${base} list ${who}
  ${base} add ${who}ada.asc            # also converts a passphrase file
  ${base} remove ${who}0123456789ABCDEF  # re-encrypts without that key`,
    );
  const p = kind === 'project' ? ' neomedical' : '';
  const examples: Record<'list' | 'add' | 'remove', string[]> = {
    list: [`${base} list${p}`, `${base} list${p} --json`],
    add: [`${base} add${p} ada.asc --dry-run`, `${base} add${p} ada.asc bob.asc`],
    remove: [`${base} remove${p} 0123456789ABCDEF --dry-run`, `${base} remove${p} 0123456789ABCDEF`],
  };
  const sub = (name: string) => {
    const c = keyFlags(r.command(name).exitOverride());
    return kind === 'project' ? c.argument('<project>') : c;
  };

  withExamples(withJson(sub('list')), examples.list)
    .description('who can open the file (read from the file: needs no key)')
    .action(
      targeted(kind, async (ctx, t) => {
        const l = await (await recipients()).listRecipients(t);
        ctx.out.data(l);
        if (l.mode === 'passphrase') ctx.out.line(`${l.file}: passphrase (no recipients)`);
        for (const x of l.recipients) {
          ctx.out.line(
            x.fingerprint ? `${x.fingerprint}  ${x.user ?? ''}` : `${x.keyId}  (no public key in keys/)`,
          );
        }
      }),
    );

  for (const action of ['add', 'remove'] as const) {
    withExamples(withJson(sub(action)), examples[action])
      .argument(
        '<keys...>',
        action === 'add' ? 'key files (.asc) or fingerprints in keys/' : 'fingerprints or key IDs',
      )
      .option('--dry-run', 'say what would change and write nothing')
      .description(
        action === 'add'
          ? 're-encrypt the file to its recipients and these keys'
          : 're-encrypt the file to its recipients without these keys',
      )
      .action(
        targeted(kind, async (ctx, t, keys, opts) => {
          const change =
            action === 'add'
              ? await (await recipients()).addRecipients(t, keys, opts as Opts & { dryRun?: boolean })
              : await (await recipients()).removeRecipients(t, keys, opts as Opts & { dryRun?: boolean });
          ctx.out.data(change);
          const changed = change.added.length + change.removed.length > 0 || change.from === 'passphrase';
          if (!changed) ctx.out.line(`${change.file}: no change`);
          else {
            const verb = change.written ? 're-encrypted' : 'would re-encrypt';
            const conv = change.from === 'passphrase' ? ' (was a passphrase file)' : '';
            ctx.out.line(`${verb} ${change.file} to ${change.recipients.length} recipient(s)${conv}`);
            for (const f of change.added) ctx.out.line(`  + ${f}`);
            for (const f of change.removed) ctx.out.line(`  - ${f}`);
          }
          if (!change.written && changed) ctx.out.note('dry run: nothing written');
          if (change.removed.length > 0 && change.written) {
            ctx.out.note(
              'note: the removed keys still open older versions of the file in git history: rotate what they held.',
            );
          }
        }),
      );
  }
}

/** The value for `set`: a file, stdin, or a hidden prompt; argv is visible to everyone in `ps`. */
async function readValue(opts: Opts, key: string): Promise<Secret> {
  const dropNewline = (t: string) => t.replace(/\r?\n$/, '');
  const valueFile = opts.valueFile as string | undefined;
  if (valueFile) {
    const text = await readFile(valueFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new OdpError(e.code === 'ENOENT' ? 'NOT_FOUND' : 'USAGE', `cannot read ${valueFile}`, {
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
  const { askHidden } = await import('../secrets/passphrase.js');
  const asked = await askHidden(`Value for ${key}: `, `Repeat the value for ${key}: `);
  if (asked === undefined) {
    throw new OdpError('USAGE', `no value for ${key}`, {
      hint: 'Pass --value-file FILE or --stdin (values never go on the command line).',
    });
  }
  return new Secret(asked);
}
