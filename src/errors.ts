// Errors are values: a stable code, a one-line message, a hint, and for specs a
// file:line:column. The CLI prints them without a stack trace (unless --debug)
// and turns the code into the process exit code scripts rely on.

export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

/**
 * Exit codes are part of the CLI contract: one per kind of error, whatever the
 * command (src/cli/conventions.ts says what each means; `odp --help` lists them).
 */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  invalidSpec: 3,
  secrets: 4,
  engine: 5,
  busy: 6,
  notFound: 7,
  conflict: 8,
  aborted: 130,
} as const;
export type ExitCodeName = keyof typeof ExitCode;

export type ErrorCode =
  | 'SPEC_INVALID'
  | 'SPEC_NOT_FOUND'
  | 'CHECK_FAILED'
  | 'SECRETS_BAD_PASSPHRASE'
  | 'SECRETS_INVALID'
  | 'SECRETS_NO_PASSPHRASE'
  | 'SECRETS_NO_KEY'
  | 'SECRETS_NOT_RECIPIENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'CONFLICT'
  | 'USAGE'
  | 'IMPORT_INVALID'
  | 'ENGINE'
  | 'DEPLOY_FAILED'
  | 'BUSY'
  | 'ABORTED'
  | 'INTERNAL';

/** The exit code of each error code: the table `odp --help` and docs/cli-conventions.md show. */
export const EXIT_FOR_ERROR: Readonly<Record<ErrorCode, ExitCodeName>> = {
  SPEC_INVALID: 'invalidSpec',
  SPEC_NOT_FOUND: 'notFound',
  CHECK_FAILED: 'invalidSpec',
  SECRETS_BAD_PASSPHRASE: 'secrets',
  SECRETS_INVALID: 'secrets',
  SECRETS_NO_PASSPHRASE: 'secrets',
  SECRETS_NO_KEY: 'secrets',
  SECRETS_NOT_RECIPIENT: 'secrets',
  NOT_FOUND: 'notFound',
  ALREADY_EXISTS: 'conflict',
  CONFLICT: 'conflict',
  USAGE: 'usage',
  IMPORT_INVALID: 'invalidSpec',
  ENGINE: 'engine',
  DEPLOY_FAILED: 'engine',
  BUSY: 'busy',
  ABORTED: 'aborted',
  INTERNAL: 'failure',
};

export interface Problem {
  message: string;
  location?: SourceLocation;
  /** Dotted field path inside the file, e.g. `instances.prod.version`. */
  path?: string;
}

export class OdpError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  /** Every problem found, so a user fixes a file in one pass, not one error per run. */
  readonly problems: Problem[];
  /** Supporting text shown under the message, e.g. a failing service's last log lines. */
  readonly detail: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { hint?: string; problems?: Problem[]; cause?: unknown; detail?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OdpError';
    this.code = code;
    this.hint = options.hint;
    this.problems = options.problems ?? [];
    this.detail = options.detail;
  }

  get exitCode(): number {
    return ExitCode[EXIT_FOR_ERROR[this.code]];
  }

  toJSON(): object {
    return {
      code: this.code,
      message: this.message,
      hint: this.hint,
      detail: this.detail,
      problems: this.problems.map(problemJson),
    };
  }
}

function problemJson(p: Problem): object {
  return { message: p.message, path: p.path, ...(p.location ?? {}) };
}

/** One line per problem, `file:line:column: path: message`, the format editors jump to. */
export function formatProblem(p: Problem): string {
  const where = p.location ? `${p.location.file}:${p.location.line}:${p.location.column}: ` : '';
  const path = p.path ? `${p.path}: ` : '';
  return `${where}${path}${p.message}`;
}

export function isOdpError(e: unknown): e is OdpError {
  return e instanceof OdpError;
}
