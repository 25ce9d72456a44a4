// The three instances of a project, apart from the schema: the CLI names them in
// its help, and loading zod only to print --help would cost a tenth of a second.
import { OdpError } from '../errors.js';

export const instanceNames = ['test', 'integration', 'prod'] as const;
export type InstanceName = (typeof instanceNames)[number];

/**
 * An instance named on the command line. A name that is none of the three is
 * not found, as an unknown project is (exit 7), whatever the command.
 */
export function requireInstanceName(name: string, what = 'instance'): InstanceName {
  const inst = instanceNames.find((n) => n === name);
  if (inst) return inst;
  throw new OdpError(
    'NOT_FOUND',
    `no ${what} "${name}": a project's instances are ${instanceNames.join(', ')}`,
    {
      hint: `Use one of: ${instanceNames.join(', ')}.`,
    },
  );
}
