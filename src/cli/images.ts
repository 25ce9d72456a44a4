import type { Command } from 'commander';
import type { BuildProgress } from '../images/build.js';
import { handler, withJson } from './command.js';
import { makeProgress } from './progress.js';

export function registerImages(program: Command): void {
  const images = program
    .command('images')
    .description("build the platform's images from Debian (no registry needed)");
  withJson(
    images
      .command('build [names...]')
      .description('build the platform service images; unchanged inputs are not rebuilt')
      .option(
        '--project <context=tag...>',
        'also build a project image from a directory, e.g. odoo=acme/odoo:latest',
      ),
  )
    .addHelpText(
      'after',
      `
Examples:
  odp images build                       # debian base, postgres, redis, nginx, haproxy, odoo-reference
  odp images build nginx                 # one image and its parents
  odp images build --project examples/odoo-project/odoo=camptocamp/neomedical_odoo:latest`,
    )
    .action(
      handler(async (ctx, names: string[], opts: { project?: string[]; json?: boolean }) => {
        const { buildImages } = await import('../images/build.js');
        const { buildProjectImage } = await import('../images/project.js');
        const { openRuntime } = await import('../runtime.js');
        // The images of the engine beside odp: they are built before any platform exists.
        const { images } = await openRuntime();
        const progress = makeProgress({ json: opts.json });
        const onProgress = (e: BuildProgress) => {
          if (e.phase === 'building' && !e.detail?.startsWith('Step') && !e.detail?.startsWith('I:'))
            progress.start(e.image, `build ${e.image}`);
          else if (e.phase === 'building') progress.note(`${e.image}: ${e.detail ?? ''}`);
          else if (e.phase === 'built') progress.done(e.image, `built ${e.image}`);
        };
        try {
          const results = await buildImages({ images, ...(names.length ? { only: names } : {}), onProgress });
          for (const spec of opts.project ?? []) {
            const [context, tag] = spec.split('=');
            if (!context || !tag) throw new Error(`--project expects DIR=IMAGE:TAG, got "${spec}"`);
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
      }),
    );
}
