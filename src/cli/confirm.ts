// Asking before destroying. Non-interactive runs must say yes explicitly, and
// for integration and prod also name what they destroy. The questions are
// src/prompts.ts's; without a terminal none is asked.
import { OdpError } from '../errors.js';
import { askText, askYesNo } from '../prompts.js';

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
  const question = `This removes ${opts.what} and its data.`;
  const ok = needed
    ? (await askText(`${question} Type ${needed} to confirm:`)).trim() === needed
    : await askYesNo(`${question} Continue?`);
  if (!ok) throw new OdpError('ABORTED', 'not confirmed; nothing was removed');
}

/** A yes/no question before a change that sets data aside; --yes answers it in scripts. */
export async function confirmAction(opts: { question: string; yes?: boolean }): Promise<void> {
  if (opts.yes) return;
  if (!process.stdin.isTTY) {
    throw new OdpError('USAGE', `refusing without confirmation: ${opts.question}`, { hint: 'Pass --yes.' });
  }
  if (!(await askYesNo(opts.question))) throw new OdpError('ABORTED', 'not confirmed; nothing was changed');
}
