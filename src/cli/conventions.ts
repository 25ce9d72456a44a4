// odp's command-line conventions, as data: what kind each command is, the flags
// each kind carries, and the exit code of each kind of error. Commands take
// their shared flags from here; test/unit/cli-conventions.test.ts walks the
// whole command tree and holds every command to this table, and
// docs/cli-conventions.md is generated from it (`npm run docs:cli`).
import type { Command } from 'commander';
import type { ExitCodeName } from '../errors.js';

/** The flags every command of a kind carries, with the same spelling and wording everywhere. */
export const FLAGS = {
  json: { flags: '--json', description: 'print one JSON document on stdout (progress stays on stderr)' },
  jsonLines: { flags: '--json', description: 'print one JSON object per line on stdout' },
  dryRun: { flags: '--dry-run', description: 'print the plan and change nothing' },
  yes: { flags: '-y, --yes', description: 'do not ask' },
} as const;

/**
 * read: prints, changes nothing, creates nothing (not even the state database): `--json`.
 * change: `--dry-run`, and `-y/--yes` when it asks before it destroys or replaces data.
 * server: runs until stopped (`odp serve`); its output is a log.
 */
export type CommandKind = 'read' | 'change' | 'server';

export interface CommandConvention {
  kind: CommandKind;
  /** Asks before destroying or replacing data: `-y/--yes` answers in scripts. */
  asks?: boolean;
  /** `--json` prints one object per line as it comes (a stream), not one document. */
  jsonLines?: boolean;
  /** A change without `--dry-run`, and why none is needed. */
  noDryRun?: string;
  /** A read that needs no platform directory (the others refuse to run outside one). */
  anywhere?: boolean;
}

const read: CommandConvention = { kind: 'read' };
const change: CommandConvention = { kind: 'change' };
const asks: CommandConvention = { kind: 'change', asks: true };
const editor: CommandConvention = {
  kind: 'change',
  noDryRun: 'interactive: the editor shows the change, and an unchanged file writes nothing',
};

/** Every command of `odp`, by its path (`secrets recipients add`); groups are not listed. */
export const COMMANDS: Readonly<Record<string, CommandConvention>> = {
  init: change,
  schema: { kind: 'read', anywhere: true },
  check: read,
  render: read,
  'project new': change,
  'images build': change,
  'images push': change,
  deploy: change,
  rollback: asks,
  status: read,
  logs: { kind: 'read', jsonLines: true },
  destroy: asks,
  branches: read,
  'branches expire': change,
  history: read,
  'platform secrets show': read,
  'platform secrets get': read,
  'platform secrets set': change,
  'platform secrets edit': editor,
  'platform secrets recipients list': read,
  'platform secrets recipients add': change,
  'platform secrets recipients remove': change,
  'platform up': change,
  'platform status': read,
  'platform down': asks,
  'hosts status': read,
  'hosts sync': change,
  'hosts join-command': read,
  provision: change,
  'db reset': asks,
  'db clone': asks,
  'certs status': read,
  'certs issue': change,
  'certs renew': change,
  serve: { kind: 'server' },
  schedule: read,
  'schedule run': change,
  jobs: read,
  'secrets show': read,
  'secrets get': read,
  'secrets set': change,
  'secrets edit': editor,
  'secrets recipients list': read,
  'secrets recipients add': change,
  'secrets recipients remove': change,
  'secrets rotate': change,
  'import rancher': change,
  backup: change,
  backups: read,
  restore: asks,
  drill: change,
  drills: read,
  'release bump': change,
  publish: change,
  completion: { kind: 'read', anywhere: true },
};

/** What each exit code means, whatever the command. */
export const EXIT_MEANINGS: Readonly<Record<ExitCodeName, string>> = {
  ok: 'done (a dry run: the plan was printed)',
  failure: 'anything not below: a bug, a step that failed outside the engine',
  usage: 'the command line is wrong: unknown command or option, a bad value, a missing confirmation',
  invalidSpec: 'a spec or input file is invalid, or `check` found violations',
  secrets: 'secrets cannot be opened: no or wrong passphrase or key, a damaged file',
  engine: 'the container engine failed, or a deploy did not become healthy',
  busy: 'another operation holds the instance or the platform',
  notFound: 'no such platform directory, project, instance, backup, file or repository',
  conflict: 'what exists refuses the change: it exists already, or a working tree is not clean',
  aborted: 'you answered no, or interrupted it',
};

/** A command's path below `odp`: `secrets recipients add`. */
export function commandPath(c: Command): string {
  const names: string[] = [];
  for (let at: Command | null = c; at?.parent; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/** Every command below `program` that runs something (pure groups left out), depth first. */
export function runnableCommands(program: Command): Command[] {
  return program.commands.flatMap((c) => [...(hasAction(c) ? [c] : []), ...runnableCommands(c)]);
}

/** commander keeps a command's action private; `branches` both lists and groups `branches expire`. */
function hasAction(c: Command): boolean {
  return (c as unknown as { _actionHandler: unknown })._actionHandler != null;
}
