// Shared field types of both spec files. Messages are written for the person
// editing the YAML: they say what is expected, not what zod saw.
import * as z from 'zod';
import { PINNED_VERSION } from '../versions.js';

export const slug = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{0,38}[a-z0-9]$/,
    'expected lower-case letters, digits and dashes, 2 to 40 characters',
  );

export const hostname = z
  .string()
  .max(253)
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/,
    'expected a lower-case DNS name such as odoo.example.com',
  );

export const port = z.number().int().min(1).max(65535);

/**
 * C0 and C1 control characters (ESC starts a terminal escape sequence), DEL, and
 * the Unicode bidirectional overrides that make text read differently than it is.
 * Spec values reach terminals through `status`, `check` and logs.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;
// eslint-disable-next-line no-control-regex -- the same, tabs allowed
const CONTROL_EXCEPT_TAB = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;
const noControl = 'control characters (newlines, escape sequences) are not allowed';

/** One line of free text, such as a customer's name: 1 to `max` characters, no control characters. */
export const text = (max: number) =>
  z
    .string()
    .min(1)
    .max(max, `at most ${max} characters`)
    .refine((s) => !CONTROL.test(s), noControl);

/** A name or path without blanks: images, files, addresses. */
export const word = (max: number) => text(max).regex(/^\S+$/, 'expected a single word without blanks');

/** Environment variable names as POSIX shells accept them. */
export const envName = z
  .string()
  .max(128, 'at most 128 characters')
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');

/** Env values in YAML may be written as numbers or booleans; Odoo reads strings. Tabs are fine. */
export const envValue = z
  .union([z.string().max(4096, 'at most 4096 characters'), z.number(), z.boolean()])
  .transform((v) => String(v))
  .refine((s) => !CONTROL_EXCEPT_TAB.test(s), noControl);

export const envMap = z.record(envName, envValue);

/** Marabunta's version shapes: x.y.z or series.x.y.z (e.g. 10.0.1.2.0). */
export const version = z
  .string()
  .regex(PINNED_VERSION, 'expected a pinned version such as 10.0.0 or 14.0.1.2.0');

/** An S3 bucket name, as S3-compatible services accept it. */
export const bucketName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    'expected an S3 bucket name: 3 to 63 lower-case letters, digits, dots and dashes',
  );

export const databaseName = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a PostgreSQL name: lower-case letters, digits and underscores');
