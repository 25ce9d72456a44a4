import type { Command } from 'commander';
import type { BuildProgress } from '../images/build.js';
import { OdpError } from '../errors.js';
import { handler, withJson } from './command.js';
import { registerImagesPush } from './images-push.js';
import { FLAGS } from './conventions.js';
import { makeProgress } from './progress.js';

export function registerImages(program: Command): void {
  const images = program
    .command('images')
    .description("build the platform's images from Debian (no registry needed), push them to its registry");
  withJson(
    images
      .command('build [names...]')
      .description('build the platform service images; unchanged inputs are not rebuilt')
      .option(
        '--project <context=tag...>',
        'also build a project image from a directory, e.g. odoo=acme/odoo:latest',
      )
      .option(FLAGS.dryRun.flags, 'print which images would be built and which are current; build nothing'),
  )
    .addHelpText(
      'after',
      `
Examples:
  odp images build                       # debian base, postgres, redis, nginx, haproxy, odoo-reference
  odp images build nginx                 # one image and its parents
  odp images build --dry-run             # what is out of date, and why
  odp images build --project examples/odoo-project/odoo=camptocamp/neomedical_odoo:latest`,
    )
    .action(
      handler(
        async (ctx, names: string[], opts: { project?: string[]; json?: boolean; dryRun?: boolean }) => {
          const { buildImages } = await import('../images/build.js');
          const { buildProjectImage, projectImage } = await import('../images/project.js');
          const { openRuntime } = await import('../runtime.js');
          // The images of the engine beside odp: they are built before any platform exists.
          const { images } = await openRuntime();
          const projects = (opts.project ?? []).map((spec) => {
            const [context, tag] = spec.split('=');
            if (!context || !tag)
              throw new OdpError('USAGE', `--project expects DIR=IMAGE:TAG, got "${spec}"`);
            return { context, tag };
          });
          if (opts.dryRun) {
            const { planImages } = await import('../images/plan.js');
            const dockerfiles = await Promise.all(projects.map((p) => projectImage(p.context, p.tag)));
            const plans = await planImages(images, names.length ? names : undefined, dockerfiles);
            ctx.out.data({ dryRun: true, images: plans });
            for (const p of plans)
              ctx.out.line(`${p.build ? 'would build' : 'current    '}  ${p.image}  (${p.why})`);
            ctx.out.note('dry run: nothing built');
            return 0;
          }
          const progress = makeProgress();
          const onProgress = (e: BuildProgress) => {
            if (e.phase === 'building' && !e.detail?.startsWith('Step') && !e.detail?.startsWith('I:'))
              progress.start(e.image, `build ${e.image}`);
            else if (e.phase === 'building') progress.note(`${e.image}: ${e.detail ?? ''}`);
            else if (e.phase === 'built') progress.done(e.image, `built ${e.image}`);
          };
          try {
            const results = await buildImages({
              images,
              ...(names.length ? { only: names } : {}),
              onProgress,
            });
            for (const { context, tag } of projects) {
              results.push(await buildProjectImage(images, { context, tag, onProgress }));
            }
            progress.stop();
            ctx.out.data({ images: results });
            for (const r of results)
              ctx.out.line(
                `${r.cached ? 'cached' : 'built '}  ${r.image}${r.cached ? '' : `  ${r.seconds.toFixed(1)}s`}`,
              );
            return 0;
          } finally {
            progress.stop();
          }
        },
      ),
    );
  registerImagesPush(images);
}
