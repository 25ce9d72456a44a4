// The bounds of a YAML file odp reads, in a module of their own: the platform
// loader checks the size before reading without loading the YAML library.

/** A spec or stack file is a few kilobytes; 1 MiB leaves room and keeps parsing fast. */
export const MAX_YAML_BYTES = 1024 * 1024;
/** The deepest spec is 5 levels; 64 is far beyond any real file and far below what crashes the parser. */
export const MAX_YAML_DEPTH = 64;
/** Aliases a file may expand: a few are normal (shared env blocks), thousands are a bomb. */
export const MAX_YAML_ALIASES = 100;
