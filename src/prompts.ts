// Questions asked on a terminal, through @inquirer's prompts (docs/decisions/0068):
// a yes or no, a typed answer, a secret that is not echoed. Each prompt is loaded
// when it is asked, so registering the commands (`odp --help`) never loads one.
// Whether to ask at all is the caller's business: without a terminal nothing here
// may be called (a script gets a usage error or a hint, never a question). Ctrl-C
// or Ctrl-D at a prompt is a no: ABORTED (exit 130), nothing was changed.
// Outside src/cli because secrets (below operations) ask for passphrases too.
import { OdpError } from './errors.js';

/** Where a question is asked: stdin and stderr by default, so stdout keeps the result alone. */
export interface Terminal {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}

const standard = (): Terminal => ({ input: process.stdin, output: process.stderr });

/** A yes or no; Enter alone is no. */
export async function askYesNo(message: string, term: Terminal = standard()): Promise<boolean> {
  const { default: confirm } = await import('@inquirer/confirm');
  return answer(confirm({ message, default: false }, term));
}

/** A line typed out, as typed (`trim` is the caller's choice). */
export async function askText(message: string, term: Terminal = standard()): Promise<string> {
  const { default: input } = await import('@inquirer/input');
  return answer(input({ message }, term));
}

/**
 * A secret: nothing of it is shown, not even its length, and it cannot be
 * revealed (the prompt's Ctrl-T toggle is off).
 */
export async function askSecret(message: string, term: Terminal = standard()): Promise<string> {
  const { default: password } = await import('@inquirer/password');
  return answer(password({ message, toggleMask: false }, term));
}

async function answer<T>(question: Promise<T>): Promise<T> {
  try {
    return await question;
  } catch (e) {
    // @inquirer/core's ExitPromptError: Ctrl-C, or Ctrl-D on an empty line.
    if (e instanceof Error && e.name === 'ExitPromptError') {
      throw new OdpError('ABORTED', 'aborted at the prompt; nothing was changed', { cause: e });
    }
    throw e;
  }
}
