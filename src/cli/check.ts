import type { Command } from 'commander';
import { ExitCode, formatProblem } from '../errors.js';
import { handler, withJson } from './command.js';

export function registerCheck(program: Command): void {
  withJson(
    program
      .command('check')
      .description('validate the platform directory and enforce the platform rules')
      .option('--passphrase-file <file>', 'read the secrets passphrase from a file (also checks secrets)')
      .option('--list-rules', 'print the rules and exit'),
  )
    .addHelpText(
      'after',
      `
Exits ${ExitCode.invalidSpec} with one line per violation (file:line:column: rule: message).

Examples:
  odp check
  odp check --json | jq '.violations[].rule'
  ODP_PASSPHRASE=… odp check      # also checks that every instance has its secrets`,
    )
    .action(
      handler(async (ctx, opts: { passphraseFile?: string; listRules?: boolean }) => {
        const { rules } = await import('../spec/rules/index.js');
        if (opts.listRules) {
          ctx.out.data({ rules: rules.map(({ id, description }) => ({ id, description })) });
          for (const r of rules) ctx.out.line(`${r.id.padEnd(30)} ${r.description}`);
          return ExitCode.ok;
        }
        const { checkPlatform } = await import('../ops/check.js');
        const { pd, violations, secretsChecked } = await checkPlatform(ctx.dir, opts);
        ctx.out.data({ ok: violations.length === 0, secretsChecked, violations });
        for (const v of violations) ctx.out.line(formatProblem({ ...v, path: v.rule }));
        const n = pd.projects.size;
        if (violations.length === 0) {
          ctx.out.line(
            `ok: platform ${pd.platform.name}, ${n} project${n === 1 ? '' : 's'}, ${rules.length} rules`,
          );
        } else {
          ctx.out.note(`${violations.length} violation${violations.length === 1 ? '' : 's'}`);
        }
        if (!secretsChecked) ctx.out.note('note: secrets not checked (no passphrase: set ODP_PASSPHRASE)');
        return violations.length === 0 ? ExitCode.ok : ExitCode.invalidSpec;
      }),
    );
}
