// `odp publish`: CI's last step in an Odoo project's repository. Thin: the
// flow is in ops/publish/publish.ts; this file parses flags and prints.
import type { Command } from 'commander';
import { ExitCode } from '../errors.js';
import type { PublishPlan, PublishResult } from '../ops/publish/publish.js';
import { handler, withJson, type Ctx } from './command.js';
import { makeProgress } from './progress.js';

interface PublishFlags {
  registry?: string;
  image?: string;
  repo: string;
  mainBranch?: string;
  notify?: string;
  project?: string;
  secretsFile?: string;
  passphraseFile?: string;
  keyFile?: string;
  dryRun?: boolean;
  json?: boolean;
}

export function registerPublish(program: Command): void {
  withJson(
    program
      .command('publish')
      .description(
        "CI: build the project's image, push it with the release tag rules, redeploy test after master",
      )
      .option('--registry <host[:port]>', 'registry to push to (default: $ODP_REGISTRY)')
      .option('--image <name>', 'repository in the registry, e.g. camptocamp/acme_odoo (default: $ODP_IMAGE)')
      .option('--repo <dir>', "the Odoo project's git repository", '.')
      .option(
        '--main-branch <name>',
        'the branch whose builds are `latest` (default: $ODP_MAIN_BRANCH or master)',
      )
      .option(
        '--notify <url>',
        'after a main-branch build, POST <url>/hooks/publish (default: $ODP_SERVER_URL)',
      )
      .option('--project <name>', 'project to redeploy when notifying (default: $ODP_PROJECT)')
      .option(
        '--secrets-file <file>',
        'encrypted env file with REGISTRY_USER, REGISTRY_PASSWORD, WEBHOOK_SECRET',
      )
      .option(
        '--passphrase-file <file>',
        'passphrase of --secrets-file (default: $ODP_PASSPHRASE, else a prompt)',
      )
      .option(
        '--key-file <file>',
        'private key, when --secrets-file is encrypted to recipients (default: $ODP_KEY_FILE)',
      )
      .option('--dry-run', 'print the ref, the tags and the notify target; build, push and post nothing'),
  )
    .addHelpText(
      'after',
      `
Tags (the original platform's rules): a build of master (or --main-branch) pushes
\`latest\`; a build of a commit at tag X.Y.Z pushes X.Y.Z, refused unless odoo/VERSION
says X.Y.Z; any other branch pushes <branch-slug>-<short sha>; a pull request nothing.
The ref is read from git; on a detached HEAD, GITHUB_REF and GITHUB_SHA say it.

Registry credentials never come from the command line: ODP_REGISTRY_USER and
ODP_REGISTRY_PASSWORD, else REGISTRY_USER and REGISTRY_PASSWORD in --secrets-file;
none is an anonymous push. The redeploy request is signed with ODP_WEBHOOK_SECRET
(or WEBHOOK_SECRET in --secrets-file) together with its delivery id and time:
header X-Odp-Signature (t=…,id=…,sha256=…). odp serve refuses a notice more than
5 minutes off its clock, and an id it has seen: keep CI's clock right.

Examples:
  odp publish --registry ghcr.io --image camptocamp/acme_odoo --dry-run
  ODP_REGISTRY_USER=ci ODP_REGISTRY_PASSWORD=… odp publish --registry ghcr.io --image camptocamp/acme_odoo
  odp publish --registry 127.0.0.1:5000 --image acme_odoo --notify https://odp.example.com --project acme
  ODP_PASSPHRASE=… odp publish --secrets-file ci.env.gpg --registry ghcr.io --image camptocamp/acme_odoo`,
    )
    .action(
      handler(async (ctx, opts: PublishFlags) => {
        const { planPublish, runPublish } = await import('../ops/publish/publish.js');
        const { openRuntime } = await import('../runtime.js');
        const { plan, secrets } = await planPublish(opts);
        printPlan(ctx, plan);
        if (plan.tags.length === 0) {
          ctx.out.data({ ...plan, dryRun: Boolean(opts.dryRun), pushed: [] });
          ctx.out.line(`nothing to publish: pull request ${plan.ref.name} (pull requests are not published)`);
          return 0;
        }
        if (opts.dryRun) {
          ctx.out.data({ ...plan, dryRun: true });
          ctx.out.note('dry run: nothing was built, pushed or posted');
          return 0;
        }
        const progress = makeProgress();
        let result: PublishResult;
        try {
          result = await runPublish((await openRuntime()).images, plan, secrets, progress);
        } finally {
          progress.stop();
        }
        ctx.out.data({ ...result, dryRun: false });
        for (const p of result.pushed)
          ctx.out.line(`pushed   ${p.reference}${p.digest ? `  ${p.digest}` : ''}`);
        const n = result.notified;
        if (!n) return 0;
        if (n.ok) {
          ctx.out.line(`notified ${n.url}: ${n.status} ${n.answer} (delivery ${n.delivery})`);
          return 0;
        }
        const pushed = result.pushed.map((p) => p.reference).join(', ');
        ctx.out.note(
          `error: the image is pushed (${pushed}) but the redeploy was not requested: ${n.url} answered ${n.status || 'nothing'}: ${n.answer}`,
        );
        ctx.out.note(
          n.status === 401
            ? "hint: ODP_WEBHOOK_SECRET is not the server's webhook secret; fix it and run odp publish again."
            : 'hint: Fix what the server says, then run odp publish again: pushing the same image again is harmless.',
        );
        return ExitCode.failure;
      }),
    );
}

function printPlan(ctx: Ctx, plan: PublishPlan): void {
  const ref = plan.ref;
  const what = ref.kind === 'pull' ? 'pull request' : ref.kind;
  const from = ref.source === 'git' ? 'git' : 'GITHUB_REF';
  ctx.out.line(`ref          ${what} ${ref.name} at ${plan.sha.slice(0, 12)} (from ${from})`);
  ctx.out.line(`version      ${plan.version}`);
  ctx.out.line(`image        ${plan.repository}`);
  ctx.out.line(`tags         ${plan.tags.join(', ') || '(none)'}`);
  for (const [k, v] of Object.entries(plan.labels)) ctx.out.line(`label        ${k}=${v}`);
  ctx.out.line(`credentials  ${plan.credentials}`);
  if (plan.notify)
    ctx.out.line(`notify       ${plan.notify.url} (redeploy ${plan.notify.project}/${plan.notify.instance})`);
  else if (plan.notifySkipped) ctx.out.line(`notify       nothing: ${plan.notifySkipped}`);
}
