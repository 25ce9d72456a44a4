import type { Command } from 'commander';
import { ExitCode, formatProblem } from '../errors.js';
import { isPlaceholderImage } from '../platform-spec/placeholder-image.js';
import { handler, withJson } from './command.js';
import { odpCommand } from './next.js';

export function registerCheck(program: Command): void {
  withJson(
    program
      .command('check')
      .description('validate the platform directory and enforce the platform rules')
      .option('--passphrase-file <file>', 'read the secrets passphrase from a file (also checks secrets)')
      .option('--key-file <file>', 'your private key, for recipients-mode secrets (default: $ODP_KEY_FILE)')
      .option('--require-secrets', 'fail (exit 4) when the secrets cannot be opened instead of skipping them')
      .option('--list-rules', 'print the rules and exit'),
  )
    .addHelpText(
      'after',
      `
Exits ${ExitCode.invalidSpec} with one line per violation (file:line:column: rule: message).
Without a passphrase (or key) the secrets are not checked: the output says
"ok (secrets not checked)" and why under "not checked:", and the exit is still
${ExitCode.ok} when nothing else is wrong (what was checked passed);
--require-secrets makes it exit ${ExitCode.secrets}. A project file that does not
load is reported with what the rules found in the others (exit ${ExitCode.invalidSpec}).
"to fill in:" lists what odp could not know (placeholder images): not a failure.

Examples:
  odp check
  odp check --json | jq '.violations[].rule'
  ODP_PASSPHRASE=… odp check      # also checks that every instance has its secrets`,
    )
    .action(
      handler(
        async (
          ctx,
          opts: { passphraseFile?: string; keyFile?: string; listRules?: boolean; requireSecrets?: boolean },
        ) => {
          const { rules } = await import('../platform-spec/rules/index.js');
          if (opts.listRules) {
            ctx.out.data({ rules: rules.map(({ id, description }) => ({ id, description })) });
            for (const r of rules) ctx.out.line(`${r.id.padEnd(30)} ${r.description}`);
            return ExitCode.ok;
          }
          const { checkPlatform } = await import('../ops/project/check.js');
          const { pd, violations, secretsChecked, notChecked, secretRulesRan } = await checkPlatform(
            ctx.dir,
            opts,
          );
          const n = pd.projects.size;
          // What odp could not know and a person must still give: not a violation.
          const toFill = [...pd.projects.values()]
            .filter((p) => isPlaceholderImage(p.spec.image))
            .map((p) => {
              const at = p.locate(['image']);
              return `${at.file}:${at.line}:${at.column}: ${p.spec.name}'s image ${p.spec.image} is a placeholder: put the repository CI pushes to`;
            });
          ctx.out.data({ ok: violations.length === 0, secretsChecked, notChecked, toFill, violations });
          for (const v of violations) ctx.out.line(formatProblem({ ...v, path: v.rule }));
          if (violations.length === 0) {
            // Never a bare "ok" over a check that skipped something: the line says what.
            const ran = secretRulesRan || n === 0 ? rules : rules.filter((r) => !r.needsSecrets);
            const counted =
              ran.length === rules.length ? `${rules.length}` : `${ran.length} of ${rules.length}`;
            const what = `platform ${pd.platform.name}, ${n} project${n === 1 ? '' : 's'}, ${counted} rules`;
            ctx.out.line(notChecked.length > 0 ? `ok (secrets not checked): ${what}` : `ok: ${what}`);
          } else {
            ctx.out.note(`${violations.length} violation${violations.length === 1 ? '' : 's'}`);
          }
          for (const what of notChecked) ctx.out.line(`not checked: ${what}`);
          if (toFill.length > 0) ctx.out.line('to fill in:');
          for (const t of toFill) ctx.out.line(`  ${t}`);
          if (notChecked.length > 0 && opts.requireSecrets) return ExitCode.secrets;
          const only = n === 1 ? [...pd.projects.keys()][0] : undefined;
          if (violations.length === 0 && notChecked.length === 0 && toFill.length === 0 && only) {
            ctx.out.line(
              `next: ${odpCommand(ctx, `deploy ${only} test`)}   (its test instance, on this host)`,
            );
          }
          return violations.length === 0 ? ExitCode.ok : ExitCode.invalidSpec;
        },
      ),
    );
}
