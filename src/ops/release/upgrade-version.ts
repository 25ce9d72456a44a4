// The version a pinned instance runs, written back into its project's spec so
// the platform directory in git always says what runs where.
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { writeFileAtomic } from '../../platformdir/atomic-write.js';
import { projectFile } from '../../platformdir/load.js';

/** instances.<inst>.version in projects/<name>.yaml, comments and layout kept. */
export async function writeVersion(
  dir: string,
  project: string,
  instance: string,
  version: string,
): Promise<void> {
  const file = projectFile(dir, project);
  const doc = parseDocument(await readFile(file, 'utf8'));
  if (doc.getIn(['instances', instance, 'version']) === version) return;
  doc.setIn(['instances', instance, 'version'], version);
  await writeFileAtomic(file, doc.toString());
}
