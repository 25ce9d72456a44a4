import type { Command } from 'commander';
import { DockerEngine } from '../engines/docker/engine.js';
import { handler } from './command.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description("the platform's long-running server: /healthz and scheduled certificate renewal")
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', '8420')
    .option('--renew-every <hours>', 'how often certificates due for renewal are renewed', '12')
    .addHelpText('after', '\nExamples:\n  odp serve\n  odp serve --host 0.0.0.0 --port 8420 --renew-every 6')
    .action(
      handler(async (ctx, o: { host: string; port: string; renewEvery: string }) => {
        const { dockerEdgeControl } = await import('../ops/edge-sync.js');
        const { serve, log } = await import('../server/server.js');
        const engine = new DockerEngine();
        const { server, scheduler, url } = await serve({
          dir: ctx.dir,
          host: o.host,
          port: Number(o.port),
          edge: dockerEdgeControl(engine.docker),
          renewEveryMs: Number(o.renewEvery) * 3_600_000,
        });
        log({ event: 'listening', url });
        await new Promise<void>((resolve) => {
          const stop = () => {
            scheduler.stop();
            server.close(() => resolve());
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        log({ event: 'stopped' });
        return 0;
      }),
    );
}
