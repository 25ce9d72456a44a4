// The secrets odp generates itself, in a module of their own: `--help` lists
// them without loading the generator (and node:crypto with it).

/** The secrets odp generates itself, per instance; `rotate` regenerates them. */
export const GENERATED_KEYS = ['DB_PASSWORD', 'ADMIN_PASSWD'] as const;
