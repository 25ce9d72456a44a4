// The `next:` lines of the onboarding commands: the exact command that works
// next, with `--dir` when the user gave one, so it can be pasted as printed.
import type { Ctx } from './command.js';

export function odpCommand(ctx: Ctx, rest: string, dir = ctx.globals.dir): string {
  return `odp ${dir ? `--dir ${quote(dir)} ` : ''}${rest}`;
}

function quote(s: string): string {
  return /^[\w./@:+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
