// The three instances of a project, apart from the schema: the CLI names them in
// its help, and loading zod only to print --help would cost a tenth of a second.
export const instanceNames = ['test', 'integration', 'prod'] as const;
export type InstanceName = (typeof instanceNames)[number];
