// How long operations report what they do. Ops emit events; the CLI decides
// how they look (a live terminal, plain lines, or nothing with --json).
// Outside src/ops so that what sits below operations (state) can take one too.
export interface Progress {
  /**
   * A step starts: `key` identifies it until it ends. A plan's step gives its
   * kind and id too, which the history records (docs/decisions/0058).
   */
  start(key: string, text: string, step?: { kind: string; id: string }): void;
  done(key: string, text?: string): void;
  fail(key: string, text: string): void;
  /** A note that is not a step (waiting for a lock, a warning). */
  note(text: string): void;
}

export const silentProgress: Progress = {
  start: () => undefined,
  done: () => undefined,
  fail: () => undefined,
  note: () => undefined,
};
