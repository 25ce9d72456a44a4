// A secret value that refuses to be printed. Everything that can reach a log,
// an error message, JSON output or a rendered file sees a mask; only an
// explicit `reveal()` (by code that writes the secret where it belongs: the
// encrypted file, a container's environment) reads the value.

export const MASK = '********';
const inspect = Symbol.for('nodejs.util.inspect.custom');

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  equals(other: Secret): boolean {
    return this.#value === other.#value;
  }

  toString(): string {
    return MASK;
  }

  toJSON(): string {
    return MASK;
  }

  [inspect](): string {
    return `Secret(${MASK})`;
  }
}

export function isSecret(v: unknown): v is Secret {
  return v instanceof Secret;
}

/** Env values are plain strings or secrets; renderers decide how each is shown. */
export type EnvValue = string | Secret;

export function revealEnv(v: EnvValue): string {
  return typeof v === 'string' ? v : v.reveal();
}
