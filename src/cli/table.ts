// Columns for the read commands' lists, laid out by cli-table3 without borders:
// widths are measured in terminal cells (string-width), so a name with accents
// or wide characters, or a word painted by colour.ts, keeps its column in line
// where padEnd counted code units and escape codes (docs/decisions/0068).
// Loaded by the actions that print a list, never when the commands register.
import Table from 'cli-table3';
import { coloursFor, tone, type Colours } from './colour.js';

const GAP = '  ';
const NO_BORDER = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: GAP,
};

/**
 * One line per row, columns two spaces apart, each line starting with `indent`
 * and without trailing blanks. A line per row (no header, no wrapping) so that
 * callers can put a row's own detail lines under it, and so that a line stays
 * one record for grep. Columns align left, but those in `right` (numbers, sizes,
 * ages: their units line up).
 */
export function table(
  rows: readonly (readonly string[])[],
  opts: { right?: readonly number[]; indent?: string } = {},
): string[] {
  if (rows.length === 0) return [];
  const columns = Math.max(...rows.map((r) => r.length));
  const t = new Table({
    chars: NO_BORDER,
    style: { 'padding-left': 0, 'padding-right': 0, head: [], border: [], compact: true },
    colAligns: Array.from({ length: columns }, (_, i) => (opts.right?.includes(i) ? 'right' : 'left')),
  });
  // A cell never spans lines: one record, one line.
  t.push(...rows.map((r) => r.map((cell) => cell.replace(/\n/g, ' '))));
  return t
    .toString()
    .split('\n')
    .map((line) => `${opts.indent ?? ''}${line}`.trimEnd());
}

/** `7s`, `12m`, `5h`, `3d`: an age in the unit a person reads at a glance. */
export function age(s: number): string {
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

let stdout: Colours | undefined;

/** A state word (running, failed, queued…) painted for stdout, where the tables go. */
export function paintState(word: string): string {
  stdout ??= coloursFor(process.stdout);
  return tone(stdout, word);
}
