// One line of an instance's output, read as Odoo writes it: a JSON record of
// the logging_json addon (`levelname`, `message`, `dbname`, `name`,
// `request_id`…) or Odoo's plain format (`2026-12-07 10:42:01,123 7 ERROR db
// odoo.sql_db: message`). nginx's JSON access log and anything else are lines
// without a level. Pure: `odp logs --level/--grep` filters with it.

export const LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const;
export type Level = (typeof LEVELS)[number];

export interface LogLine {
  line: string;
  level?: Level;
  /** The JSON record's fields, when the line is one. */
  fields?: Record<string, unknown>;
}

const PLAIN = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} \d+ ([A-Z]+) /;
// Docker's --timestamps prefix, kept on the line but not in the way of reading it.
const STAMP = /^\d{4}-\d{2}-\d{2}T[\d:.]+Z /;

function levelOf(word: unknown): Level | undefined {
  if (typeof word !== 'string') return undefined;
  const w = word.toLowerCase();
  if (w === 'warn') return 'warning';
  return (LEVELS as readonly string[]).includes(w) ? (w as Level) : undefined;
}

export function readLogLine(line: string): LogLine {
  const body = line.replace(STAMP, '');
  if (body.startsWith('{')) {
    try {
      const fields = JSON.parse(body) as unknown;
      if (fields && typeof fields === 'object' && !Array.isArray(fields)) {
        const record = fields as Record<string, unknown>;
        const level = levelOf(record.levelname ?? record.level);
        return { line, fields: record, ...(level ? { level } : {}) };
      }
    } catch {
      // Not JSON after all: a plain line that starts with a brace.
    }
  }
  const level = levelOf(PLAIN.exec(body)?.[1]);
  return { line, ...(level ? { level } : {}) };
}

export interface LogFilter {
  /** At this level or above; lines without a level do not pass. */
  level?: Level;
  /** Case-insensitive text anywhere in the line. */
  grep?: string;
}

export function passes(l: LogLine, f: LogFilter): boolean {
  if (f.level && (!l.level || LEVELS.indexOf(l.level) < LEVELS.indexOf(f.level))) return false;
  if (f.grep && !l.line.toLowerCase().includes(f.grep.toLowerCase())) return false;
  return true;
}
