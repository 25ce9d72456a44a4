// Builds rule inputs from the example platform, with a mutation applied to the
// plain YAML data first: each test says only what it changes.
import assert from 'node:assert/strict';
import { cpSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { basename } from 'node:path';
import { parse, stringify } from 'yaml';
import { OdpError } from '../../src/errors.js';
import { parseSpec } from '../../src/platform-spec/parse.js';
import { platformSchema } from '../../src/platform-spec/platform-schema.js';
import { projectSchema } from '../../src/platform-spec/project-schema.js';
import type { ProjectInput, RuleInput } from '../../src/platform-spec/rules/types.js';

const root = new URL('../../examples/platform/', import.meta.url);
export const examplePlatformText = readFileSync(new URL('platform.yaml', root), 'utf8');
export const exampleProjectText = readFileSync(new URL('projects/neomedical.yaml', root), 'utf8');

type Data = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function mutate(text: string, change?: (d: Data) => void): string {
  if (!change) return text;
  const d = parse(text) as Data;
  change(d);
  return stringify(d);
}

/** The problems a spec file's `text` is refused with; the test fails if it parses. */
export function refusals(
  text: string,
  schema: typeof projectSchema | typeof platformSchema,
  file = 'p.yaml',
): OdpError['problems'] {
  try {
    parseSpec(file, text, schema);
  } catch (e) {
    assert.ok(e instanceof OdpError);
    assert.equal(e.code, 'SPEC_INVALID');
    return e.problems;
  }
  assert.fail(`expected ${file} to be refused`);
}

export function project(change?: (d: Data) => void, file = 'projects/neomedical.yaml'): ProjectInput {
  const parsed = parseSpec(file, mutate(exampleProjectText, change), projectSchema);
  return { spec: parsed.value, file, locate: parsed.locate };
}

/** Makes the example project a second one, distinct from neomedical in every unique field. */
function asAcme(d: Data): void {
  d.name = 'acme';
  d.client = 'ACME Corp';
  d.instances.test.domain = 'test.acme.odoo.example.ch';
  d.instances.integration.domain = 'integration.acme.odoo.example.ch';
  d.instances.prod.domain = 'acme.odoo.example.ch';
  d.instances.prod.database = 'quiet_river_2042';
}

/** A second project, distinct from neomedical in every unique field. */
export function otherProject(change?: (d: Data) => void): ProjectInput {
  return project((d) => {
    asAcme(d);
    change?.(d);
  }, 'projects/acme.yaml');
}

/** The text of that second project's file (projects/acme.yaml). */
export const otherProjectText = (): string => mutate(exampleProjectText, asAcme);

export function input(opts: { platform?: (d: Data) => void; projects?: ProjectInput[] } = {}): RuleInput {
  const parsed = parseSpec('platform.yaml', mutate(examplePlatformText, opts.platform), platformSchema);
  return {
    platform: parsed.value,
    platformFile: 'platform.yaml',
    locatePlatform: parsed.locate,
    projects: opts.projects ?? [project()],
    trackedPlaintextSecrets: [],
  };
}

/**
 * A copy of examples/platform for a test to change. The example's own secrets file
 * (encrypted with the demo passphrase) is left out unless asked for, so a test
 * starts from a project without secrets and chooses its own passphrase.
 */
export function copyExamplePlatform(dest: string, opts: { withSecrets?: boolean } = {}): void {
  cpSync(fileURLToPath(root), dest, {
    recursive: true,
    // Never the state a demo run left there (.odp-state is git-ignored): each
    // test starts with a platform that has done nothing yet.
    filter: (src) =>
      basename(src) !== '.odp-state' && (opts.withSecrets === true || !src.endsWith('.env.gpg')),
  });
}
