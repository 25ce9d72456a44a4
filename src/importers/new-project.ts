// The project file `odp import rancher` starts from when the project does not
// exist yet: what the stack tells (image, modules, series from the tag), the
// customer's name given or made from the project's, the editors' schema line.
// applyImport (to-spec.ts) then sets the instance. Pure.
import { Document } from 'yaml';
import { OdpError } from '../errors.js';
import { schemaModeline } from '../platform-spec/schema-modeline.js';
import type { ImportedStack } from './rancher.js';

export function newProjectDoc(
  input: { name: string; client?: string; odooSeries?: string },
  stack: ImportedStack,
  warnings: string[],
): Document {
  const { name } = input;
  // The stack does not name the customer: the project's name stands in, and says so.
  const client = input.client ?? clientFromName(name);
  if (!input.client) {
    warnings.push(
      `client "${client}" is the project's name: put the customer's own name in the project file (client:), or import with --client "Customer SA"`,
    );
  }
  let series = input.odooSeries;
  if (!series) {
    const m = /^(\d+\.\d+)\.\d+\.\d+\.\d+$/.exec(stack.tag) ?? /^(\d+\.0)\.\d+$/.exec(stack.tag);
    if (!m) {
      throw new OdpError('USAGE', `cannot tell the Odoo series from the image tag "${stack.tag}"`, {
        hint: 'Pass --odoo-series, e.g. --odoo-series 16.0.',
      });
    }
    series = m[1] as string;
    warnings.push(`assumed odooSeries ${series} from version ${stack.tag}; check it`);
  }
  const doc = new Document({
    name,
    client,
    image: stack.repository,
    flavour: 'camptocamp',
    odooSeries: series,
    serverWideModules: stack.serverWideModules,
    // Set here only to sit beside the other project fields; applyImport decides.
    ...(stack.env.get('STATSD_CUSTOMER') ? { statsdCustomer: stack.env.get('STATSD_CUSTOMER')?.value } : {}),
    plan: '',
    instances: {},
  });
  doc.commentBefore = ` ${schemaModeline('project')}\n Imported from a Rancher stack by \`odp import rancher\`; check it with \`odp check\`.`;
  (doc.get('serverWideModules', true) as { flow?: boolean }).flow = true;
  return doc;
}

/** `acme-corp` → `Acme Corp`: a project name read as a customer's. */
export function clientFromName(name: string): string {
  return name
    .split('-')
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join(' ');
}
