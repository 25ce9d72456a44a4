// Asking before destroying. Non-interactive runs must say yes explicitly, and
// for integration and prod also name what they destroy.
import { OdpError } from '../errors.js';

// Loaded when a question is asked: registering the commands does not pay for readline.
const readline = () => import('node:readline/promises');

export async function confirmDestroy(opts: {
  what: string;
  /** When set, the user must type this exact text (integration, prod). */
  typeToConfirm?: string;
  yes?: boolean;
  confirm?: string;
}): Promise<void> {
  const needed = opts.typeToConfirm;
  if (opts.yes && (!needed || opts.confirm === needed)) return;
  if (opts.yes && needed) {
    throw new OdpError('USAGE', `destroying ${opts.what} also needs --confirm ${needed}`);
  }
  if (!process.stdin.isTTY) {
    throw new OdpError('USAGE', `refusing to destroy ${opts.what} without confirmation`, {
      hint: needed ? `Pass --yes --confirm ${needed}.` : 'Pass --yes.',
    });
  }
  const rl = (await readline()).createInterface({ input: process.stdin, output: process.stderr });
  try {
    const prompt = needed
      ? `This removes ${opts.what} and its data. Type ${needed} to confirm: `
      : `This removes ${opts.what} and its data. Continue? [y/N] `;
    const answer = (await rl.question(prompt)).trim();
    const ok = needed ? answer === needed : /^y(es)?$/i.test(answer);
    if (!ok) throw new OdpError('ABORTED', 'not confirmed; nothing was removed');
  } finally {
    rl.close();
  }
}

/** A yes/no question before a change that sets data aside; --yes answers it in scripts. */
export async function confirmAction(opts: { question: string; yes?: boolean }): Promise<void> {
  if (opts.yes) return;
  if (!process.stdin.isTTY) {
    throw new OdpError('USAGE', `refusing without confirmation: ${opts.question}`, { hint: 'Pass --yes.' });
  }
  const rl = (await readline()).createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${opts.question} [y/N] `)).trim();
    if (!/^y(es)?$/i.test(answer)) throw new OdpError('ABORTED', 'not confirmed; nothing was changed');
  } finally {
    rl.close();
  }
}
