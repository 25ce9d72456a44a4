// Shared field types of both spec files. Messages are written for the person
// editing the YAML: they say what is expected, not what zod saw.
import { z } from 'zod';

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

/** Environment variable names as POSIX shells accept them. */
export const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');

/** Env values in YAML may be written as numbers or booleans; Odoo reads strings. */
export const envValue = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));

export const envMap = z.record(envName, envValue);

/** Marabunta's version shapes: x.y.z or series.x.y.z (e.g. 10.0.1.2.0). */
export const version = z
  .string()
  .regex(/^\d+\.\d+\.\d+(\.\d+\.\d+)?$/, 'expected a pinned version such as 10.0.0 or 14.0.1.2.0');

export const databaseName = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a PostgreSQL name: lower-case letters, digits and underscores');
