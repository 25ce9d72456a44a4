import type { Command } from 'commander';
import { checked, handler, positiveNumber, wholeNumber } from './command.js';

interface ServeFlags {
  host: string;
  port: number;
  renewEvery: number;
  mainBranch: string;
  retryEvery: number;
  imageWait: number;
  parallel: number;
  healthTimeout: number;
  passphraseFile?: string;
  webhookSecretFile?: string;
  requestTimeout: number;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      "the platform's long-running server: GitHub and publish webhooks, the deploy queue, certificate renewal, /healthz",
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option(
      '--port <port>',
      'port to listen on (0: any free port, printed in the log)',
      checked((v) => wholeNumber(v, '--port', 0)),
      8420,
    )
    .option(
      '--renew-every <hours>',
      'how often certificates due for renewal are renewed',
      checked((v) => positiveNumber(v, '--renew-every')),
      12,
    )
    .option('--main-branch <name>', 'pushes to this branch redeploy the test instance', 'master')
    .option(
      '--retry-every <seconds>',
      "how often a deploy waiting for its commit's image looks again",
      checked((v) => positiveNumber(v, '--retry-every')),
      15,
    )
    .option(
      '--image-wait <minutes>',
      'how long a deploy waits for its image before it fails',
      checked((v) => positiveNumber(v, '--image-wait')),
      60,
    )
    .option(
      '--parallel <n>',
      'jobs of different instances run at once',
      checked((v) => wholeNumber(v, '--parallel', 1)),
      2,
    )
    .option(
      '--health-timeout <seconds>',
      'how long a service may take to become healthy',
      checked((v) => positiveNumber(v, '--health-timeout')),
      600,
    )
    .option(
      '--request-timeout <seconds>',
      'a request must arrive whole within this time, else 408 and the connection is closed',
      checked((v) => positiveNumber(v, '--request-timeout')),
      30,
    )
    .option(
      '--passphrase-file <file>',
      "passphrase of platform.env.gpg and the projects' secrets, first line of FILE (default: $ODP_PASSPHRASE)",
    )
    .option(
      '--webhook-secret-file <file>',
      'webhook secret, first line of FILE (default: $ODP_WEBHOOK_SECRET, else WEBHOOK_SECRET in platform.env.gpg)',
    )
    .addHelpText(
      'after',
      `
The webhook secret comes from --webhook-secret-file, else ODP_WEBHOOK_SECRET,
else WEBHOOK_SECRET in the platform's secrets (platform.env.gpg); without one
the webhooks answer 503. The passphrase comes from --passphrase-file, else
ODP_PASSPHRASE. Both are read once and removed from the environment, so what
the server starts inherits neither; the files keep them out of the server's
own /proc/PID/environ too, which still shows the environment it started with.
Point GitHub at POST /hooks/github (content type application/json, events
push and create); \`odp publish\` posts to /hooks/publish. Logs are JSON lines.

Examples:
  odp serve
  odp serve --host 0.0.0.0 --port 8420 --renew-every 6 --request-timeout 10
  odp serve --webhook-secret-file /etc/odp/webhook-secret --passphrase-file /etc/odp/passphrase
  ODP_WEBHOOK_SECRET=… odp serve --main-branch main --retry-every 30 --image-wait 90
  curl -s localhost:8420/healthz; curl -s localhost:8420/api/jobs`,
    )
    .action(
      handler(async (ctx, o: ServeFlags) => {
        const { openRuntime } = await import('../runtime.js');
        const { serve, log } = await import('../server/server.js');
        const { platformJobs } = await import('../server/scheduled.js');
        const { deployTestRunner, deployBranchRunner, removeBranchRunner } =
          await import('../server/runners.js');
        const { engine, images, edge } = await openRuntime(ctx.dir);
        // Operations the queue runs are recorded in the history as done by the server.
        process.env.ODP_ACTOR ??= 'odp serve';
        const { takeServeSecrets } = await import('../server/serve-secrets.js');
        const { webhookSecret: secret } = await takeServeSecrets({
          dir: ctx.dir,
          webhookSecretFile: o.webhookSecretFile,
          passphraseFile: o.passphraseFile,
        });
        const runners = {
          'deploy-test': deployTestRunner({
            engine,
            images,
            dir: ctx.dir,
            edge,
            healthTimeoutMs: o.healthTimeout * 1000,
          }),
          'deploy-branch': deployBranchRunner({
            engine,
            images,
            dir: ctx.dir,
            edge,
            healthTimeoutMs: o.healthTimeout * 1000,
          }),
          'remove-branch': removeBranchRunner({ engine, dir: ctx.dir, edge }),
        };
        const s = await serve({
          dir: ctx.dir,
          host: o.host,
          port: o.port,
          edge,
          webhookSecret: secret,
          runners,
          mainBranch: o.mainBranch,
          retryEveryMs: o.retryEvery * 1000,
          imageWaitMs: o.imageWait * 60_000,
          parallel: o.parallel,
          requestTimeoutMs: o.requestTimeout * 1000,
          scheduled: () =>
            platformJobs({ engine, dir: ctx.dir, edge, renewEveryMs: o.renewEvery * 3_600_000 }),
        });
        log({ event: 'listening', url: s.url, webhooks: secret ? 'enabled' : 'disabled: no webhook secret' });
        await new Promise<void>((resolve) => {
          const stop = () => {
            // A second signal does not wait: a job cut short is queued again at the next start.
            process.once('SIGINT', () => process.exit(130));
            process.once('SIGTERM', () => process.exit(143));
            if (s.worker.busy()) log({ event: 'stopping', waitingFor: `${s.worker.busy()} running job(s)` });
            void s.close().then(resolve);
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        log({ event: 'stopped' });
        return 0;
      }),
    );
}
