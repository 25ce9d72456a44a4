import { Option, type Command } from 'commander';
import { OdpError } from '../errors.js';
import { stackName } from '../compose/instance.js';
import { LEVELS, type Level } from '../logs/log-line.js';
import { requireInstanceName } from '../platform-spec/instance-names.js';
import { checked, handler, wholeNumber, withJson } from './command.js';
import { confirmDestroy } from './confirm.js';
import { FLAGS } from './conventions.js';
import { makeProgress } from './progress.js';
import type { InstanceStatus } from '../ops/instance/instances.js';

export function registerInstances(program: Command): void {
  withJson(
    program
      .command('status [project]')
      .description('every instance, its services, image, health and age')
      .option('-w, --watch', 'follow it: shown again as it changes (a rollout), until interrupted')
      .option(
        '--interval <seconds>',
        'with --watch: how often to look',
        checked((v) => wholeNumber(v, '--interval', 1, 3600)),
        2,
      ),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  odp status\n  odp status neomedical --json\n  odp status neomedical --watch',
    )
    .action(
      handler(async (ctx, project: string | undefined, o: { watch?: boolean; interval: number }) => {
        const { instanceStatus } = await import('../ops/instance/instances.js');
        const { openRuntime } = await import('../runtime.js');
        const { engine } = await openRuntime(ctx.dir);
        const read = () => instanceStatus(engine, ctx.dir, project);
        if (!o.watch) {
          const all = await read();
          ctx.out.data({ instances: all });
          for (const l of await statusLines(all)) ctx.out.line(l);
          return 0;
        }
        const { watchStatus } = await import('./status-watch.js');
        return watchStatus(read, statusLines, { json: ctx.out.json, intervalMs: o.interval * 1000 });
      }),
    );

  program
    .command('logs <project> <instance> [service]')
    .description("a service's output (default: odoo)")
    .option('-f, --follow', 'keep printing new lines')
    .option('--since <when>', 'only since 10m, 2h, 1d or a date')
    .option(
      '--tail <lines>',
      'only the last N lines',
      checked((v) => wholeNumber(v, '--tail', 0, 1_000_000)),
    )
    .option('--replica <n>', 'which replica', '1')
    .addOption(
      new Option(
        '--level <level>',
        'only lines at this level or above; lines without one are left out',
      ).choices(LEVELS),
    )
    .option('--grep <text>', 'only lines that contain this text (any case)')
    .option(
      FLAGS.jsonLines.flags,
      `${FLAGS.jsonLines.description}: {"unit", "node" (on a swarm), "line", "level", "fields" (a JSON log record's)}`,
    )
    .addHelpText(
      'after',
      '\nExamples:\n  odp logs neomedical test\n  odp logs neomedical test nginx --since 10m -f\n  odp logs neomedical prod --since 2h --level error\n  odp logs neomedical prod --since 1h --grep "res.partner" --json | jq -r .fields.message',
    )
    .action(
      handler(async (ctx, project: string, instance: string, service: string | undefined, o: LogFlags) => {
        const { loadPlatformDir, requireProject } = await import('../platformdir/load.js');
        const { openRuntime } = await import('../runtime.js');
        const pd = await loadPlatformDir(ctx.dir);
        const spec = requireProject(pd, project).spec;
        const inst = requireInstanceName(instance);
        const { engine } = await openRuntime(pd);
        await engine.ping();
        const { findUnit } = await import('../ops/instance/instances.js');
        const sel = { platform: pd.platform.name, project: spec.name, instance: inst };
        const found = await findUnit(engine, sel, service ?? 'odoo', Number(o.replica));
        const unit = found?.name ?? `${stackName(spec, inst)}-${service ?? 'odoo'}-${o.replica}`;
        const node = found?.node;
        const stream = await engine
          .logs(unit, {
            follow: o.follow,
            since: o.since,
            ...(o.tail !== undefined ? { tail: o.tail } : {}),
          })
          .catch((e: unknown) => {
            throw new OdpError('NOT_FOUND', `${unit} is not running`, {
              cause: e,
              hint: `odp status ${project}`,
            });
          });
        const filter = { ...(o.level ? { level: o.level } : {}), ...(o.grep ? { grep: o.grep } : {}) };
        if (!o.json && !filter.level && !filter.grep) {
          stream.pipe(process.stdout);
          await new Promise((r) => stream.on('end', r));
          return 0;
        }
        const { createInterface } = await import('node:readline');
        const { passes, readLogLine } = await import('../logs/log-line.js');
        for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
          const l = readLogLine(text);
          if (!passes(l, filter)) continue;
          if (!o.json) process.stdout.write(`${text}\n`);
          else process.stdout.write(`${JSON.stringify({ unit, ...(node ? { node } : {}), ...l })}\n`);
        }
        return 0;
      }),
    );

  withJson(
    program
      .command('destroy <project> <instance>')
      .description('remove an instance: its containers, network and volumes')
      .option('-y, --yes', 'do not ask')
      .option('--confirm <stack>', 'for integration and prod: the stack name, typed out')
      .option('--branch <name>', "test only: remove that branch's instance, its route and record")
      .option('--dry-run', 'print the plan and change nothing'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  odp destroy neomedical test --dry-run\n  odp destroy neomedical test --yes\n  odp destroy neomedical test --branch feature/login --yes\n  odp destroy neomedical integration --yes --confirm neomedical-odoo-integration',
    )
    .action(
      handler(async (ctx, project: string, instance: string, o: DestroyFlags) => {
        if (o.branch !== undefined) {
          if (instance !== 'test') throw new OdpError('USAGE', '--branch is for test (branch instances)');
          const { destroyBranchCli } = await import('./branches.js');
          return destroyBranchCli(ctx, project, o.branch, o);
        }
        const { loadPlatformDir, requireProject } = await import('../platformdir/load.js');
        const { openRuntime } = await import('../runtime.js');
        const pd = await loadPlatformDir(ctx.dir);
        const spec = requireProject(pd, project).spec;
        const inst = requireInstanceName(instance);
        const { engine } = await openRuntime(pd);
        const name = stackName(spec, inst);
        if (!o.dryRun) {
          await confirmDestroy({
            what: name,
            yes: o.yes,
            confirm: o.confirm,
            ...(inst === 'test' ? {} : { typeToConfirm: name }),
          });
        }
        const progress = makeProgress();
        try {
          const { destroyInstance } = await import('../ops/instance/destroy.js');
          const { formatRemovalPlan, removedObjects } = await import('../plan/removal.js');
          const r = await destroyInstance(engine, ctx.dir, project, inst, {
            progress,
            ...(o.dryRun ? { dryRun: true } : {}),
          });
          progress.stop();
          ctx.out.data({
            ...r,
            dryRun: !!o.dryRun,
            ...(o.dryRun ? { removes: removedObjects(r.plan) } : {}),
          });
          if (o.dryRun) {
            ctx.out.line(formatRemovalPlan(r.plan));
            ctx.out.note('dry run: nothing changed');
            return 0;
          }
          ctx.out.line(
            r.removed.length
              ? `removed ${r.removed.length} objects of ${name}`
              : `${name} had nothing running`,
          );
        } finally {
          progress.stop();
        }
        return 0;
      }),
    );
}

interface DestroyFlags {
  yes?: boolean;
  confirm?: string;
  branch?: string;
  dryRun?: boolean;
  json?: boolean;
}

interface LogFlags {
  follow?: boolean;
  since?: string;
  tail?: number;
  replica: string;
  json?: boolean;
  level?: Level;
  grep?: string;
}

/** `odp status` for people: each instance, then a line per unit. */
async function statusLines(all: InstanceStatus[]): Promise<string[]> {
  const { table, age, paintState } = await import('./table.js');
  const out: string[] = [];
  for (const i of all) {
    out.push(
      `${i.project}/${i.instance}${i.version ? ` ${i.version}` : ''}  ${paintState(i.state)}  https://${i.domain}/`,
    );
    if (i.maintenanceSince) out.push(`  in maintenance at the edge since ${i.maintenanceSince}`);
    if (i.interrupted) {
      const x = i.interrupted;
      out.push(
        `  ${x.kind} #${x.id}${x.version ? ` to ${x.version}` : ''} was interrupted (${x.startedAt}): the next deploy or rollback completes or undoes it`,
      );
    }
    // On an engine of many hosts, each unit's host (its task's node).
    const nodes = i.services.some((s) => s.node);
    const services = i.services.map((s) => [
      `${s.name}-${s.replica}`,
      paintState(s.state),
      paintState(s.health),
      age(s.ageSeconds),
      ...(nodes ? [s.node ? `on ${s.node}` : ''] : []),
      s.image,
      s.endpoint ? `http://${s.endpoint.host}:${s.endpoint.port}/` : '',
    ]);
    out.push(...table(services, { right: [3], indent: '  ' }));
  }
  return out;
}
