// When a scheduled job is due. Pure: every function takes the time it reasons
// about (milliseconds since the epoch, UTC), so tests drive a clock of their own.
//
// A daily or weekly job runs once per period inside its window, at an offset
// that comes from its key: stable across restarts (`odp schedule` can say when
// it runs next) and spread over the window, so fifty nightly backups do not all
// start at 01:00 on one PostgreSQL. A job missed while nothing ran the schedule
// (the server down, the machine off) is due at once when it comes back, once,
// however many periods were missed: a catch-up, not a backlog.
import { createHash } from 'node:crypto';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const WEEK = 7 * DAY;
/** 1970-01-01 was a Thursday: the first Monday 00:00 UTC after the epoch, in ms. */
const FIRST_MONDAY = 4 * DAY;

export interface Window {
  /** Minutes after 00:00 UTC at which the window opens. */
  startMinute: number;
  /** Its length in minutes (the jitter's span); at least 1. */
  minutes: number;
}

export type Cadence =
  | { kind: 'every'; ms: number }
  | { kind: 'daily'; window: Window }
  /** `day`: 0 Monday … 6 Sunday (ISO order). */
  | { kind: 'weekly'; day: number; window: Window };

/** A stable offset in [0, spanMs) from the job's key. */
export function jitterOf(key: string, spanMs: number): number {
  if (spanMs <= 0) return 0;
  const n = createHash('sha256').update(key).digest().readUInt32BE(0);
  // Whole seconds: a due time reads well, and the spread is still fine.
  return (n % Math.max(1, Math.floor(spanMs / 1000))) * 1000;
}

/** The period's length and where periods start. */
function period(c: Exclude<Cadence, { kind: 'every' }>): { length: number; origin: number } {
  return c.kind === 'daily'
    ? { length: DAY, origin: 0 }
    : { length: WEEK, origin: FIRST_MONDAY + c.day * DAY };
}

/** The first instant strictly after `t` at which the job is due (its next slot). */
export function firstDueAfter(c: Cadence, key: string, t: number): number {
  if (c.kind === 'every') return t + c.ms;
  const { length, origin } = period(c);
  const offset = c.window.startMinute * MINUTE + jitterOf(key, c.window.minutes * MINUTE);
  const start = Math.floor((t - origin) / length) * length + origin;
  // A window may run past midnight (23:00 for 4 h): the previous period's slot can still be ahead.
  return [start - length, start, start + length].map((p) => p + offset).find((at) => at > t)!;
}

export interface Due {
  /** When it runs next. */
  at: number;
  /** That time is now because a slot passed with nothing running the schedule. */
  catchUp: boolean;
}

/**
 * When the job runs next, from its last run (or, never run, from when the
 * schedule first knew it) and now. A slot between then and now that did not
 * run makes it due now; an interval job never run is due at once.
 */
export function nextDue(c: Cadence, key: string, o: { lastRun?: number; since: number; now: number }): Due {
  if (c.kind === 'every' && o.lastRun === undefined) return { at: o.now, catchUp: false };
  const anchor = o.lastRun ?? o.since;
  const slot = firstDueAfter(c, key, anchor);
  if (slot > o.now) return { at: slot, catchUp: false };
  // An interval job late by less than a tick is on time, not a catch-up.
  return { at: o.now, catchUp: c.kind !== 'every' };
}

/** "HH:MM" → minutes after midnight; undefined when not a time of day. */
export function parseTimeOfDay(text: string): number | undefined {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

/** How a cadence reads in `odp schedule`. */
export function describeCadence(c: Cadence): string {
  if (c.kind === 'every') {
    const h = c.ms / 3_600_000;
    return Number.isInteger(h) ? `every ${h} h` : `every ${Math.round(c.ms / MINUTE)} min`;
  }
  const hhmm = (m: number) =>
    `${String(Math.floor(m / 60) % 24).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  const window = `${hhmm(c.window.startMinute)}–${hhmm(c.window.startMinute + c.window.minutes)} UTC`;
  if (c.kind === 'daily') return `daily ${window}`;
  return `weekly on ${['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'][c.day]} ${window}`;
}
