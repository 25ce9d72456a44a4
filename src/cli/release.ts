// `odp release bump`: run inside an Odoo project's repository, not on a
// platform directory. The release flow (version, HISTORY.rst, migration.yml,
// commit, tag) lives in src/ops/publish/release-bump.ts.
import type { Command } from 'commander';
import { OdpError } from '../errors.js';
import type { BumpPlan, BumpResult } from '../ops/publish/release-bump.js';
import { BUMP_KINDS, type BumpKind } from '../release/version.js';
import { handler, withJson } from './command.js';

interface BumpFlags {
  major?: boolean;
  feature?: boolean;
  patch?: boolean;
  dryRun?: boolean;
  json?: boolean;
  repo?: string;
}

const NEXT_STEP = 'git push --follow-tags';

function kindOf(o: BumpFlags): BumpKind {
  const chosen = BUMP_KINDS.filter((k) => o[k]);
  if (chosen.length !== 1) {
    throw new OdpError(
      'USAGE',
      chosen.length === 0
        ? 'say which part to bump'
        : `choose one of ${chosen.map((k) => `--${k}`).join(', ')}`,
      {
        hint: 'odp release bump --feature (x.y+1.0), --patch (x.y.z+1) or --major (x+1.0.0)',
      },
    );
  }
  return chosen[0]!;
}

/** The plan or result without the files' contents: what --json prints. */
function summary(p: BumpPlan | BumpResult, dryRun: boolean) {
  return {
    dryRun,
    repo: p.repo,
    branch: p.branch,
    kind: p.kind,
    from: p.from,
    to: p.to,
    date: p.date,
    tag: p.tag,
    message: p.message,
    commit: 'commit' in p ? p.commit : undefined,
    files: p.files.map(({ path, summary, added, removed }) => ({ path, summary, added, removed })),
    notes: p.notes,
    next: dryRun ? undefined : NEXT_STEP,
  };
}

function fileLines(p: BumpPlan): string[] {
  const width = Math.max(...p.files.map((f) => f.path.length));
  return p.files.map((f) => `  ${f.path.padEnd(width)}  ${f.summary}  (+${f.added} -${f.removed} lines)`);
}

export function registerRelease(program: Command): void {
  const release = program
    .command('release')
    .description("an Odoo project's releases: run inside the project's git repository");

  withJson(
    release
      .command('bump')
      .description(
        'next version in odoo/VERSION, HISTORY.rst and odoo/migration.yml; commit and annotated tag',
      )
      .option('--feature', 'x.y.z → x.y+1.0')
      .option('--patch', 'x.y.z → x.y.z+1')
      .option('--major', 'x.y.z → x+1.0.0')
      .option('--dry-run', 'print what would change and change nothing')
      .option('--repo <dir>', "the project's repository (default: the one holding the current directory)"),
  )
    .addHelpText(
      'after',
      `
Versions are x.y.z or, with the Odoo series first, series.x.y.z (14.0.1.2.0 →
--feature → 14.0.1.3.0): the series never changes. HISTORY.rst's
"latest (unreleased)" entries move under "X.Y.Z (today)"; the unreleased
section keeps its empty sub-section headings. odoo/migration.yml gets
"- version: X.Y.Z" when it does not list it. Then "Release X.Y.Z" is committed
and tagged X.Y.Z (annotated). Refused, with nothing changed, on a dirty tree, a
detached HEAD, an existing tag or a missing git identity. Nothing is pushed.

Examples:
  odp release bump --feature --dry-run
  odp release bump --patch && git push --follow-tags
  odp release bump --major --repo ~/src/neomedical_odoo --json`,
    )
    .action(
      handler(async (ctx, o: BumpFlags) => {
        const kind = kindOf(o);
        // Loaded on use: simple-git and yaml would slow every other command's start.
        const ops: typeof import('../ops/publish/release-bump.js') =
          await import('../ops/publish/release-bump.js');
        const plan = await ops.planBump({ dir: o.repo ?? process.cwd(), kind });
        for (const n of plan.notes) ctx.out.note(`note: ${n}`);
        if (o.dryRun) {
          ctx.out.data(summary(plan, true));
          ctx.out.line(`release ${plan.from} → ${plan.to} (--${kind}) on ${plan.branch} in ${plan.repo}`);
          ctx.out.line('would change:');
          for (const l of fileLines(plan)) ctx.out.line(l);
          ctx.out.line(`would commit "${plan.message}" and create the annotated tag ${plan.tag}`);
          ctx.out.line('dry run: nothing changed');
          return 0;
        }
        const r = await ops.applyBump(plan);
        ctx.out.data(summary(r, false));
        ctx.out.line(`released ${r.to} (was ${r.from}) on ${r.branch} in ${r.repo}`);
        for (const l of fileLines(r)) ctx.out.line(l);
        ctx.out.line(`commit ${r.commit.slice(0, 7)} "${r.message}", annotated tag ${r.tag}`);
        ctx.out.line(`next: ${NEXT_STEP}`);
        return 0;
      }),
    );
}
