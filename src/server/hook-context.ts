// What every webhook handler is given and answers (hooks.ts routes, the
// github-hook, publish-hook and delivery modules handle): in a module of their
// own, so that the router and its handlers do not import each other.
import type { Secret } from '../secret.js';
import type { StateDb } from '../state/db.js';
import type { Log } from './worker.js';

export interface HookContext {
  dir: string;
  db: StateDb;
  /** Undefined: webhooks are not configured and answer 503. */
  secret: Secret | undefined;
  mainBranch: string;
  /** How long a deploy waits for its commit's image before it fails. */
  imageWaitMs: number;
  bodyLimit: number;
  /** How far a publish notice's signed time may be from now (default 5 min). */
  publishWindowMs?: number;
  log: Log;
  /** A job was queued: the worker looks now rather than at its next poll. */
  wake: () => void;
  health: () => Record<string, unknown> | Promise<Record<string, unknown>>;
}

export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** A verified delivery, ready to act on. */
export interface Delivery {
  source: 'github' | 'odp';
  id: string;
  event: string;
  body: Buffer;
  /** SHA-256 of the raw body, hex: GitHub's delivery id is not signed, so a replay is also known by its body. */
  bodySha256?: string;
}
