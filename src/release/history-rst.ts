// HISTORY.rst as camptocamp's odoo-template keeps it: a `latest (unreleased)`
// section whose bold sub-section headings (**Features and Improvements**,
// **Bugfixes**, …) collect bullet entries, above one section per release,
// `X.Y.Z (YYYY-MM-DD)`. Releasing moves the unreleased entries under a new
// section and leaves the unreleased one with its empty headings; every byte
// outside the unreleased section stays as it was.
import { OdpError } from '../errors.js';

export interface HistoryRelease {
  /** The new content of the file. */
  text: string;
  /** Top-level bullet entries moved under the release. */
  entries: number;
  /** The sub-sections that had entries, in order (`''` for text above the first heading). */
  sections: string[];
  /** True when the unreleased section held nothing: the release says so. */
  empty: boolean;
}

/** What a release with no unreleased entries says under its heading. */
export const NOTHING_RECORDED = 'No changes recorded.';

interface Line {
  text: string;
  /** Offset of the line's first character in the file. */
  start: number;
}

interface Heading {
  title: string;
  /** Index of the title line. */
  line: number;
  /** Index of the first line of the heading (the overline when there is one). */
  first: number;
  underline: string;
}

const UNRELEASED = /^(latest\s+\()?unreleased\)?$/i;
const SUB_HEADING = /^\*\*[^*].*\*\*$/;
const BULLET = /^[*+-]\s/;

function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  let start = 0;
  for (const raw of text.split('\n')) {
    lines.push({ text: raw.replace(/\r$/, ''), start });
    start += raw.length + 1;
  }
  return lines;
}

// An reStructuredText section adornment: one punctuation character repeated.
function isAdornment(s: string): boolean {
  return s.length >= 3 && /^([!-/:-@[-`{-~])\1*$/.test(s);
}

/** Section titles: a text line at column 0 followed by an adornment at least as long. */
function headings(lines: Line[]): Heading[] {
  const found: Heading[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    const title = lines[i]!.text.trimEnd();
    const under = lines[i + 1]!.text.trimEnd();
    if (!title || /^\s/.test(title) || title.startsWith('..') || isAdornment(title)) continue;
    if (!isAdornment(under) || under.length < title.length) continue;
    const over = i > 0 ? lines[i - 1]!.text.trimEnd() : '';
    found.push({ title, line: i, first: over === under ? i - 1 : i, underline: under });
  }
  return found;
}

function trimBlank(block: string[]): string[] {
  let a = 0;
  let b = block.length;
  while (a < b && !block[a]!.trim()) a++;
  while (b > a && !block[b - 1]!.trim()) b--;
  return block.slice(a, b);
}

/**
 * Moves the unreleased section's entries under `version (date)`. Refuses when
 * the file has no unreleased section or already has a section for `version`.
 */
export function releaseHistory(
  text: string,
  o: { version: string; date: string; file?: string },
): HistoryRelease {
  const file = o.file ?? 'HISTORY.rst';
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = splitLines(text);
  const all = headings(lines);
  const at = all.findIndex((h) => UNRELEASED.test(h.title));
  const unreleased = all[at];
  if (!unreleased) {
    throw new OdpError('USAGE', `${file} has no "latest (unreleased)" section`, {
      hint: `Add one above the releases, as camptocamp's odoo-template does:\n\nlatest (unreleased)\n+++++++++++++++++++\n\n**Features and Improvements**\n\n* …`,
    });
  }
  const released = all.find((h) => h.title === o.version || h.title.startsWith(`${o.version} (`));
  if (released) {
    throw new OdpError(
      'ALREADY_EXISTS',
      `${file} already has a section for ${o.version} (line ${released.line + 1})`,
    );
  }
  const next = all.slice(at + 1).find((h) => h.first > unreleased.line + 1);
  const bodyEnd = next ? next.first : lines.length;

  // The body as blocks: the text above the first bold heading, then one per heading.
  const blocks: { heading: string; lines: string[] }[] = [{ heading: '', lines: [] }];
  for (const line of lines.slice(unreleased.line + 2, bodyEnd)) {
    const t = line.text.trimEnd();
    if (SUB_HEADING.test(t)) blocks.push({ heading: t, lines: [] });
    else blocks.at(-1)!.lines.push(line.text);
  }
  const filled = blocks
    .map((b) => ({ heading: b.heading, lines: trimBlank(b.lines) }))
    .filter((b) => b.lines.length > 0);
  const subHeadings = blocks.map((b) => b.heading).filter(Boolean);

  const headLines = lines.slice(unreleased.first, unreleased.line + 2).map((l) => l.text);
  const title = `${o.version} (${o.date})`;
  // The same adornment as the unreleased heading: the same section level to rst.
  const rule = unreleased.underline[0]!.repeat(title.length);
  const over = unreleased.first < unreleased.line ? [rule] : [];
  const releasedBody =
    filled.length === 0
      ? [NOTHING_RECORDED]
      : filled.flatMap((b, i) => [...(i > 0 ? [''] : []), ...(b.heading ? [b.heading, ''] : []), ...b.lines]);
  const out = [
    ...headLines,
    '',
    ...subHeadings.flatMap((h) => [h, '']),
    '',
    ...over,
    title,
    rule,
    '',
    ...releasedBody,
  ];
  const prefix = text.slice(0, lines[unreleased.first]!.start);
  const rest = next ? text.slice(lines[next.first]!.start) : '';
  return {
    text: `${prefix}${out.join(eol)}${eol}${rest ? `${eol}${eol}${rest}` : ''}`,
    entries: filled.reduce((n, b) => n + b.lines.filter((l) => BULLET.test(l)).length, 0),
    sections: filled.map((b) => b.heading.replace(/^\*\*|\*\*$/g, '')),
    empty: filled.length === 0,
  };
}
