// `odp hosts`: the spec's hosts and the swarm's nodes (engine: swarm).
import type { Command } from 'commander';
import { ExitCode } from '../errors.js';
import { handler, withExamples, withJson } from './command.js';
import { FLAGS } from './conventions.js';
import { makeProgress } from './progress.js';

export function registerHosts(program: Command): void {
  const hosts = program
    .command('hosts')
    .description("the spec's hosts as nodes of the swarm (engine: swarm): state, labels, drift")
    .addHelpText(
      'after',
      `
odp reaches a manager of the swarm where DOCKER_HOST points (else the local socket).
Joining a server is the operator's act (\`odp hosts join-command\` prints it); then
\`odp hosts sync\` gives each node its host's labels (odp.host, odp.datacentre and
odp.<label>=true) and changes nothing else. Swarm then moves the units whose
constraints a node no longer meets, and only those: \`--dry-run\` lists them, and
a move that would leave a database's data behind is refused.`,
    );

  withExamples(
    withJson(
      hosts.command('status').description('each host: its node, state, availability, labels and drift'),
    ),
    ['odp hosts status', 'odp hosts status --json'],
  ).action(
    handler(async (ctx) => {
      const { hostsStatus } = await import('../ops/platform/hosts.js');
      const { loadPlatformFile } = await import('../platformdir/load.js');
      const { openCluster } = await import('../runtime.js');
      const pf = await loadPlatformFile(ctx.dir);
      const r = await hostsStatus(await openCluster(pf), pf);
      ctx.out.data(r);
      const { paintState, table } = await import('./table.js');
      const rows = r.hosts.map((h) => {
        const n = h.node;
        if (!n) return [h.host, h.datacentre, 'no node'];
        const role = `${n.role}${n.leader ? ' (leader)' : ''}`;
        return [h.host, h.datacentre, n.hostname, n.addr, role, paintState(n.state), n.availability];
      });
      // Each host's line, then what differs on it.
      table(rows).forEach((line, i) => {
        ctx.out.line(line);
        for (const d of r.hosts[i]!.drift) ctx.out.line(`  drift: ${d}`);
      });
      for (const n of r.otherNodes)
        ctx.out.line(`node ${n.hostname} (${n.addr}, ${n.state}) is no host of the spec`);
      ctx.out.line(r.drift === 0 ? 'every host as the spec says' : `${r.drift} differences from the spec`);
      return r.drift === 0 ? ExitCode.ok : ExitCode.failure;
    }),
  );

  withExamples(
    withJson(
      hosts
        .command('sync')
        .description("give each node its host's labels from the spec, and change nothing else")
        .option(FLAGS.dryRun.flags, FLAGS.dryRun.description),
    ),
    ['odp hosts sync --dry-run', 'odp hosts sync'],
  ).action(
    handler(async (ctx, o: { dryRun?: boolean }) => {
      const { hostsSync } = await import('../ops/platform/hosts.js');
      const { loadPlatformFile } = await import('../platformdir/load.js');
      const { openCluster } = await import('../runtime.js');
      const pf = await loadPlatformFile(ctx.dir);
      const cluster = await openCluster(pf);
      const progress = makeProgress();
      try {
        const r = await hostsSync(cluster, pf, { progress, ...(o.dryRun ? { dryRun: true } : {}) });
        progress.stop();
        ctx.out.data({ ...r, dryRun: !!o.dryRun });
        for (const s of r.plan.steps) ctx.out.line(`  ${s.change.host} (${s.change.hostname}): ${s.cause}`);
        const { describeMove } = await import('../plan/label-moves.js');
        for (const m of r.moves) ctx.out.line(`  ${describeMove(m)}`);
        if (r.plan.steps.length && !r.moves.length) ctx.out.line('  no running unit moves');
        if (r.plan.steps.length === 0) ctx.out.line('every node carries its host labels already');
        else if (o.dryRun) ctx.out.note('dry run: nothing changed');
        else ctx.out.line(`labelled ${r.plan.steps.length} nodes`);
        return 0;
      } finally {
        progress.stop();
      }
    }),
  );

  withExamples(
    withJson(
      hosts
        .command('join-command')
        .description('print what an operator runs on a new server to join the swarm')
        .option('--manager', 'join as a manager (default: a worker)'),
    ),
    ['odp hosts join-command', 'odp hosts join-command --manager'],
  )
    .addHelpText(
      'after',
      "\nThe command holds the swarm's join token: anyone with it can join a node. Keep it out of logs.",
    )
    .action(
      handler(async (ctx, o: { manager?: boolean }) => {
        const { hostsJoinCommand } = await import('../ops/platform/hosts.js');
        const { loadPlatformFile } = await import('../platformdir/load.js');
        const { openCluster } = await import('../runtime.js');
        const pf = await loadPlatformFile(ctx.dir);
        const r = await hostsJoinCommand(await openCluster(pf), o.manager ? 'manager' : 'worker');
        ctx.out.data(r);
        ctx.out.line(r.command);
        ctx.out.note(
          `on the new server: run it, then \`odp hosts sync\`; open TCP 2377 (managers), TCP/UDP 7946 and UDP 4789 between nodes`,
        );
        return 0;
      }),
    );
}
