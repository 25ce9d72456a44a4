// What `odp render` does, loaded only when it runs (its registration, with the
// options and help, is in render.ts): the loader, the renderers, the secrets store.
import { relative } from 'node:path';
import { composeStack } from '../compose/stack.js';
import { OdpError } from '../errors.js';
import { loadProjectSecrets, openTarget, projectTarget } from '../ops/secrets/secrets.js';
import { writeFilesNoFollow, type PrivateFile } from '../platformdir/no-follow-write.js';
import { loadPlatformDir, requireProject } from '../platformdir/load.js';
import { renderComposeDotEnv, renderComposeFile } from '../render/compose-file.js';
import { renderRancher } from '../render/rancher.js';
import { MASK, Secret } from '../secret.js';
import { formatEnvFile } from '../secrets/envfile.js';
import { encryptWithLock, secretsExist } from '../secrets/store.js';
import { newFileLock, type SecretsLock } from '../secrets/lock.js';
import { requireInstanceName, type InstanceName } from '../platform-spec/instance-names.js';
import type { Ctx } from './command.js';

export interface RenderOptions {
  format: 'compose' | 'rancher';
  out?: string;
  passphraseFile?: string;
  keyFile?: string;
}

const show = (p: string) => relative(process.cwd(), p) || p;

export async function renderAction(
  ctx: Ctx,
  project: string,
  instance: string,
  opts: RenderOptions,
): Promise<number> {
  const inst = requireInstanceName(instance);
  const pd = await loadPlatformDir(ctx.dir);
  const spec = requireProject(pd, project).spec;

  let secrets: Map<string, Secret>;
  let lock: SecretsLock | undefined;
  if (opts.out) {
    // Opened once, as the file is locked: its values, and the same lock (its
    // passphrase or its recipients) for rancher.env.gpg.
    const target = await projectTarget(ctx.dir, project);
    if (secretsExist(target.path)) {
      const opened = await openTarget(target, { passphraseFile: opts.passphraseFile, keyFile: opts.keyFile });
      secrets = opened.values;
      lock = opened.lock;
    } else secrets = new Map(); // every required secret is missing: refused below
  } else {
    const loaded = await loadProjectSecrets(ctx.dir, project, {
      passphraseFile: opts.passphraseFile,
      keyFile: opts.keyFile,
      optional: true,
    });
    if (!loaded)
      ctx.out.note('note: secrets unavailable (no secrets file or no passphrase); they are shown masked');
    secrets = loaded ?? new Map();
  }

  const {
    stack,
    instance: resolved,
    missingSecrets,
  } = composeStack(pd.platform, spec, inst as InstanceName, secrets);
  if (opts.out && missingSecrets.length > 0) {
    throw new OdpError(
      'SECRETS_INVALID',
      `${project}/${inst} lacks the secrets ${missingSecrets.join(', ')}`,
      {
        hint: `Set them first, e.g. \`odp secrets set ${project} ${missingSecrets[0]} --instance ${inst} --stdin\`; nothing was written.`,
      },
    );
  }
  if (!opts.out && missingSecrets.length > 0 && secrets.size > 0) {
    ctx.out.note(`warning: ${project}/${inst} lacks the secrets ${missingSecrets.join(', ')}`);
  }

  const files: Record<string, string> = {};
  const modes: Record<string, number> = {};
  let encrypted: Map<string, Secret> | undefined;
  if (opts.format === 'rancher') {
    const r = renderRancher(stack, resolved, pd.platform, spec, { secrets });
    files['docker-compose.yml'] = r['docker-compose.yml'];
    files['rancher-compose.yml'] = r['rancher-compose.yml'];
    files['rancher.public.env'] = r['rancher.public.env'];
    if (opts.out) encrypted = r.secrets;
    else
      files['rancher.env'] = formatEnvFile(new Map([...r.secrets.keys()].map((k) => [k, new Secret(MASK)])));
  } else {
    files['docker-compose.yml'] = renderComposeFile(stack, {
      secrets: opts.out ? 'reference' : 'mask',
    });
    if (opts.out) {
      files['.env'] = renderComposeDotEnv(stack);
      modes['.env'] = 0o600;
    }
  }

  if (!opts.out) {
    ctx.out.data({ project, instance: inst, format: opts.format, files, missingSecrets });
    for (const [name, content] of Object.entries(files)) {
      ctx.out.line(`# ==> ${name} <==`);
      ctx.out.line(content.replace(/\n$/, ''));
    }
    return 0;
  }

  // Every file of --out is written without following a link, the public
  // ones too: a link at DIR/docker-compose.yml must not overwrite its target either.
  const toWrite: PrivateFile[] = Object.entries(files).map(([name, data]) => ({
    name,
    data,
    mode: modes[name] ?? 0o644,
  }));
  if (encrypted) {
    lock ??= await newFileLock(ctx.dir, opts, 'rancher.env.gpg');
    const data = await encryptWithLock(formatEnvFile(encrypted), lock, 'rancher.env.gpg');
    toWrite.push({ name: 'rancher.env.gpg', data: Buffer.from(data), mode: 0o600 });
  }
  const written = (await writeFilesNoFollow(opts.out, toWrite)).map(show);
  ctx.out.data({ project, instance: inst, format: opts.format, written, missingSecrets });
  for (const w of written) ctx.out.line(`wrote ${w}`);
  return 0;
}
