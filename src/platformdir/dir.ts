// Which platform directory a command works on. Apart from the loader, so that
// every command can know it without loading the YAML parser and the schemas.

/** --dir, then ODP_DIR, then the current directory. */
export function resolveDir(flag: string | undefined): string {
  return flag ?? process.env.ODP_DIR ?? process.cwd();
}
