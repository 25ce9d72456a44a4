// odp's entry point: builds the command tree; each group lives in its own file.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { ExitCode, OdpError, type ExitCodeName } from '../errors.js';
import { takeExitCode } from './command.js';
import { EXIT_MEANINGS, FLAGS } from './conventions.js';
import { environmentHelp } from './environment.js';
import { reportError } from './output.js';
import { registerBackup } from './backup.js';
import { registerBranches } from './branches.js';
import { registerCerts } from './certs.js';
import { registerCheck } from './check.js';
import { registerCompletion } from './completion.js';
import { registerDb } from './db.js';
import { registerDrill } from './drill.js';
import { registerDeploy } from './deploy.js';
import { registerInstances } from './instances.js';
import { registerPlatform } from './platform.js';
import { registerProvision } from './provision.js';
import { registerHistory } from './history.js';
import { registerHosts } from './hosts.js';
import { registerSchedule } from './schedule.js';
import { registerImages } from './images.js';
import { registerImport } from './import.js';
import { registerInit } from './init.js';
import { registerProject } from './project.js';
import { registerPublish } from './publish.js';
import { registerRelease } from './release.js';
import { registerRender } from './render.js';
import { registerRollback } from './rollback.js';
import { registerSchema } from './schema.js';
import { registerServe } from './serve.js';
import { registerJobs } from './jobs.js';
import { registerSecrets } from './secrets.js';

const exitCodes = Object.entries(ExitCode)
  .map(
    ([name, code]) =>
      `  ${String(code).padStart(3)}  ${name.padEnd(11)} ${EXIT_MEANINGS[name as ExitCodeName]}`,
  )
  .join('\n');

export function buildProgram(): Command {
  const program = new Command('odp')
    .description('Odoo Platform: host many Odoo projects (test, integration, prod) from a declarative spec.')
    // Options before the command are odp's own, so `odp --version` and `deploy --version X.Y.Z`
    // do not meet; -C and --debug are accepted after the command too (hidden copies below).
    .enablePositionalOptions()
    .option('-C, --dir <dir>', 'platform directory (default: $ODP_DIR or the current directory)')
    .option(FLAGS.json.flags, `${FLAGS.json.description}, as the command's own --json does`)
    .option('--debug', 'print stack traces on errors')
    .option('-V, --version', "print odp's version")
    .on('option:version', () => {
      process.stdout.write(`${odpVersion()}\n`);
      throw new CommanderError(0, 'commander.version', odpVersion());
    })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  odp init my-platform && cd my-platform
  odp project new neomedical --client "Neomedical SA" --plan standard
  odp check
  odp render neomedical prod --format rancher
  odp --json status | jq '.instances[].state'

Every read command takes --json, every change --dry-run, and -y/--yes where it
asks first (docs/cli-conventions.md). Exit codes, the same for every command:
${exitCodes}

${environmentHelp()}`,
    );
  registerInit(program);
  registerSchema(program);
  registerCheck(program);
  registerRender(program);
  registerProject(program);
  registerImages(program);
  registerDeploy(program);
  registerRollback(program);
  registerInstances(program);
  registerBranches(program);
  registerHistory(program);
  registerPlatform(program);
  registerHosts(program);
  registerProvision(program);
  registerDb(program);
  registerCerts(program);
  registerServe(program);
  registerSchedule(program);
  registerJobs(program);
  registerSecrets(program);
  registerImport(program);
  registerBackup(program);
  registerDrill(program);
  registerRelease(program);
  registerPublish(program);
  registerCompletion(program);
  for (const c of program.commands) acceptGlobalsAfter(c);
  return program;
}

/** `odp deploy P test -C dir --debug` works as `odp -C dir --debug deploy P test` does. */
function acceptGlobalsAfter(c: Command): void {
  c.addOption(new Option('-C, --dir <dir>').hideHelp());
  c.addOption(new Option('--debug').hideHelp());
  c.commands.forEach(acceptGlobalsAfter);
}

/** package.json's version, read when asked: `odp --help` does not pay for it. */
export function odpVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  // Usage errors anywhere in the tree become exit code 2, not commander's own exit;
  // with --json they are a JSON error on stdout, as every other error is.
  const json = wantsJson(argv.slice(2));
  const override = (c: Command): void => {
    c.exitOverride();
    if (json) c.configureOutput({ outputError: () => undefined });
    c.commands.forEach(override);
  };
  override(program);
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version are successes; anything else is a usage error.
      if (e.exitCode === 0) return 0;
      const message = e.message.replace(/^error: /, '');
      return json
        ? reportError(new OdpError('USAGE', message, { hint: 'Run with --help for usage.' }), { json })
        : ExitCode.usage;
    }
    throw e;
  }
  return takeExitCode();
}

/** `--json` anywhere before `--`: the caller reads stdout as JSON, even when the command line is wrong. */
function wantsJson(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).includes('--json');
}
