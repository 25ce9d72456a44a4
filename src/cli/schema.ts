import type { Command } from 'commander';
import { join } from 'node:path';
import { OdpError } from '../errors.js';
import type { SpecKind } from '../platform-spec/json-schema.js';
import { handler, withJson } from './command.js';

export function registerSchema(program: Command): void {
  withJson(
    program
      .command('schema')
      .description('print the JSON Schema of platform.yaml and projects/*.yaml')
      .option('--kind <kind>', 'only one schema: platform or project')
      .option('--out <dir>', 'write platform.schema.json and project.schema.json into DIR'),
  )
    .addHelpText(
      'after',
      `
Examples:
  odp schema --kind project > project.schema.json
  odp schema --json | jq '.project.properties | keys'   # the schema is JSON with or without --json
  odp schema --out .odp/schema   # what init, project new and import write; the spec files
                                 # they write start with a line pointing at it:
                                 # yaml-language-server: $schema=../.odp/schema/project.schema.json`,
    )
    .action(
      handler(async (ctx, opts: { kind?: string; out?: string }) => {
        const { jsonSchema } = await import('../platform-spec/json-schema.js');
        const { writeFileAtomic } = await import('../platformdir/atomic-write.js');
        const kinds: SpecKind[] = opts.kind ? [parseKind(opts.kind)] : ['platform', 'project'];
        if (opts.out) {
          const written: string[] = [];
          for (const k of kinds) {
            const file = join(opts.out, `${k}.schema.json`);
            await writeFileAtomic(file, `${JSON.stringify(jsonSchema(k), null, 2)}\n`);
            written.push(file);
            ctx.out.note(`wrote ${file}`);
          }
          ctx.out.data({ written });
          return 0;
        }
        const doc =
          kinds.length === 1
            ? jsonSchema(kinds[0]!)
            : Object.fromEntries(kinds.map((k) => [k, jsonSchema(k)]));
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
        return 0;
      }),
    );
}

function parseKind(k: string): SpecKind {
  if (k === 'platform' || k === 'project') return k;
  throw new OdpError('USAGE', `--kind must be platform or project, not "${k}"`);
}
