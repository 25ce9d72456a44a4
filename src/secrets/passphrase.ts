// Where the passphrase comes from: a file, the environment, or the terminal.
// Never a command-line argument: argv is visible to every user in `ps` and
// lands in shell history. The prompt talks to /dev/tty, not stdin, so
// `odp secrets set … --stdin` can read the value from a pipe and still ask.
import { openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { ReadStream, WriteStream } from 'node:tty';
import { OdpError } from '../errors.js';
import { askSecret } from '../prompts.js';

export const PASSPHRASE_ENV = 'ODP_PASSPHRASE';
export const PASSPHRASE_HINT =
  'Set ODP_PASSPHRASE, pass --passphrase-file FILE (its first line is the passphrase), or run on a terminal to be prompted.';

export interface PassphraseOptions {
  passphraseFile?: string;
  /** Ask twice on a terminal: for a passphrase that is about to encrypt something new. */
  confirm?: boolean;
  /** What the passphrase is for, shown in the prompt (e.g. the file name). */
  purpose?: string;
}

/** A passphrase a long-running process keeps in memory instead of its environment. */
let held: string | undefined;

/** Where the last passphrase getPassphrase gave came from, and what to do when it is wrong. */
let source: { who: string; fix: string } | undefined;

/**
 * The hint for a passphrase that does not open a file: it names where that
 * passphrase came from (telling a user with a wrong ODP_PASSPHRASE to set
 * ODP_PASSPHRASE sends them round in a circle).
 */
export function wrongPassphraseHint(): string {
  const damaged = 'If it is right, the file may be damaged: restore it from git.';
  return source
    ? `${source.who} does not open it: ${source.fix}. ${damaged}`
    : `${PASSPHRASE_HINT} (${damaged})`;
}

/**
 * Keeps `passphrase` for every later getPassphrase of this process (after an
 * explicit --passphrase-file): `odp serve` reads it once and removes it from
 * its environment, so the processes it starts do not inherit it.
 */
export function holdPassphrase(passphrase: string): void {
  held = passphrase;
}

/** True when getPassphrase has a passphrase without asking: a file, one held, or ODP_PASSPHRASE. */
export function passphraseAtHand(opts: Pick<PassphraseOptions, 'passphraseFile'>): boolean {
  return opts.passphraseFile !== undefined || Boolean(held) || Boolean(process.env[PASSPHRASE_ENV]);
}

export async function getPassphrase(opts: PassphraseOptions): Promise<string> {
  if (opts.passphraseFile !== undefined) {
    source = { who: `The first line of ${opts.passphraseFile} (--passphrase-file)`, fix: 'check that file' };
    return readPassphraseFile(opts.passphraseFile);
  }
  if (held) {
    source ??= { who: 'The passphrase odp was started with', fix: 'start it again with the right one' };
    return held;
  }
  const env = process.env[PASSPHRASE_ENV];
  if (env) {
    // An empty variable counts as unset, as shells make those easily.
    source = { who: `The passphrase in ${PASSPHRASE_ENV}`, fix: 'check its value, or unset it to be asked' };
    return env;
  }
  source = { who: 'The passphrase typed', fix: 'try again' };
  const label = opts.purpose ? `Passphrase for ${opts.purpose}: ` : 'Passphrase: ';
  const answer = await askHidden(label, opts.confirm ? 'Repeat the passphrase: ' : undefined);
  if (answer === undefined) {
    throw new OdpError(
      'SECRETS_NO_PASSPHRASE',
      `no passphrase${opts.purpose ? ` for ${opts.purpose}` : ''}`,
      {
        hint: PASSPHRASE_HINT,
      },
    );
  }
  if (answer === '')
    throw new OdpError('SECRETS_NO_PASSPHRASE', 'the passphrase is empty', { hint: PASSPHRASE_HINT });
  return answer;
}

export async function readPassphraseFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new OdpError(
      code === 'ENOENT' ? 'NOT_FOUND' : 'SECRETS_NO_PASSPHRASE',
      `cannot read passphrase file ${path}`,
      {
        hint: PASSPHRASE_HINT,
        cause: e,
      },
    );
  }
  const first = (text.split('\n')[0] ?? '').replace(/\r$/, '');
  if (first === '') {
    throw new OdpError('SECRETS_NO_PASSPHRASE', `the passphrase file ${path} is empty`, {
      hint: PASSPHRASE_HINT,
    });
  }
  return first;
}

/** True when a controlling terminal exists to prompt on. */
export function hasTerminal(): boolean {
  const t = openTerminal();
  if (t) close(t);
  return t !== undefined;
}

/**
 * Reads a line from the terminal without echo (src/prompts.ts); with
 * `confirmPrompt`, twice, and they must match. Undefined when there is no
 * terminal (CI, cron, pipes under setsid), so callers can fall back or explain
 * the other ways.
 */
export async function askHidden(prompt: string, confirmPrompt?: string): Promise<string | undefined> {
  const first = await askOnTerminal(prompt);
  if (first === undefined || confirmPrompt === undefined) return first;
  if ((await askOnTerminal(confirmPrompt)) !== first) {
    throw new OdpError('USAGE', 'the two entries do not match; nothing was changed');
  }
  return first;
}

/**
 * One question on /dev/tty, on streams of its own: the prompt ends its output
 * stream once answered. The prompts given here read as lines ("Passphrase: ");
 * the prompt library adds its own marks.
 */
async function askOnTerminal(prompt: string): Promise<string | undefined> {
  const term = openTerminal();
  if (!term) return undefined;
  try {
    return await askSecret(prompt.replace(/:\s*$/, ''), term);
  } finally {
    close(term);
  }
}

interface Terminal {
  input: ReadStream;
  output: WriteStream;
}

function openTerminal(): Terminal | undefined {
  try {
    // Two descriptors: a tty stream owns (and closes) its own.
    return {
      input: new ReadStream(openSync('/dev/tty', 'r')),
      output: new WriteStream(openSync('/dev/tty', 'w')),
    };
  } catch {
    return undefined; // ENXIO: no controlling terminal
  }
}

function close(t: Terminal): void {
  t.input.destroy();
  t.output.destroy();
}
