// `odp images push`: the images the platform runs, into its registry, so every
// node of a swarm can pull them (docs/decisions/0070). Thin: the plan is
// images/push-plan.ts, the pushes images/push.ts; this file parses and prints.
import type { Command } from 'commander';
import { handler, withExamples, withJson } from './command.js';
import { FLAGS } from './conventions.js';
import { makeProgress } from './progress.js';

interface PushFlags {
  passphraseFile?: string;
  dryRun?: boolean;
  json?: boolean;
}

export function registerImagesPush(images: Command): void {
  withExamples(
    withJson(
      images
        .command('push [names...]')
        .description(
          "tag the platform's images and its projects' Odoo images for its registry and push them; print each digest",
        )
        .option('--passphrase-file <file>', 'passphrase of platform.env.gpg (for REGISTRY_PASSWORD)')
        .option(FLAGS.dryRun.flags, 'print what would be pushed where; tag and push nothing'),
    ).addHelpText(
      'after',
      `
Pushes from the engine odp talks to (DOCKER_HOST: on a swarm, the manager that built
them) to platform.yaml's registry.url, as <url>/<repository>:<tag>. Platform images must
be there (\`odp images build\`); a project's image at a tag this engine does not hold is
left out. NAMES: a platform image (postgres, redis, nginx, haproxy, s3), a project, or a
reference. With registry.username, the password is the platform secret REGISTRY_PASSWORD.`,
    ),
    ['odp images push --dry-run', 'odp images push', 'odp images push redis nginx --json'],
  ).action(
    handler(async (ctx, names: string[], opts: PushFlags) => {
      const { loadPlatformDir } = await import('../platformdir/load.js');
      const { pushPlan } = await import('../images/push-plan.js');
      const { pushImages } = await import('../images/push.js');
      const { registryCredentials } = await import('../ops/secrets/registry-credentials.js');
      const { openRuntime } = await import('../runtime.js');
      const pd = await loadPlatformDir(ctx.dir);
      if (pd.broken.size)
        ctx.out.note(`left out: the images of ${[...pd.broken.keys()].join(', ')} (their files do not load)`);
      const plan = pushPlan(
        pd.platform,
        [...pd.projects.values()].map((p) => p.spec),
        names,
      );
      const keys = opts.passphraseFile ? { passphraseFile: opts.passphraseFile } : {};
      const { images } = await openRuntime(pd, keys);
      const credentials = opts.dryRun ? undefined : await registryCredentials(pd, keys);
      const progress = makeProgress();
      try {
        const results = await pushImages(images, plan, {
          ...(credentials ? { credentials } : {}),
          dryRun: Boolean(opts.dryRun),
          progress,
        });
        progress.stop();
        ctx.out.data({ dryRun: Boolean(opts.dryRun), registry: pd.platform.registry?.url, images: results });
        const { table } = await import('./table.js');
        const rows = results.map((r) => [r.status, r.image, r.target, r.digest ?? '']);
        for (const line of table(rows)) ctx.out.line(line);
        if (opts.dryRun) ctx.out.note('dry run: nothing tagged or pushed');
        return 0;
      } finally {
        progress.stop();
      }
    }),
  );
}
