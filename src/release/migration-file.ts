// odoo/migration.yml, marabunta's file: a release appends `- version: X.Y.Z`
// to `migration.versions` so the image upgrades databases to it. The edit is
// textual (the file's comments and layout are the project's), then checked by
// parsing the result.
import { isMap, isSeq, parseDocument } from 'yaml';
import { OdpError } from '../errors.js';

export interface MigrationAppend {
  text: string;
  /** False when the version was already listed: the text is unchanged. */
  added: boolean;
}

function versionsOf(text: string, file: string) {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    throw new OdpError('USAGE', `${file} is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  }
  const seq = doc.getIn(['migration', 'versions'], true);
  if (!isSeq(seq) || !seq.range) {
    throw new OdpError('USAGE', `${file} has no migration.versions list`, {
      hint: 'marabunta reads `migration: versions: [- version: setup, …]`; see its documentation.',
    });
  }
  const versions = seq.items.map((item) => (isMap(item) ? String(item.get('version')) : ''));
  return { seq, versions };
}

/** The versions listed in migration.versions, in file order. */
export function migrationVersions(text: string, file = 'odoo/migration.yml'): string[] {
  return versionsOf(text, file).versions;
}

/** Appends `- version: <version>` at the end of migration.versions unless it is listed. */
export function appendMigrationVersion(
  text: string,
  version: string,
  file = 'odoo/migration.yml',
): MigrationAppend {
  const { seq, versions } = versionsOf(text, file);
  if (versions.includes(version)) return { text, added: false };
  if (seq.flow) {
    throw new OdpError(
      'USAGE',
      `${file}: migration.versions is written inline ([…]); odp appends only to a block list`,
      {
        hint: 'Write the list one `- version: …` item per line.',
      },
    );
  }
  // The new item takes the indentation of the list's first dash.
  const start = seq.range![0];
  const indent = text.slice(text.lastIndexOf('\n', start - 1) + 1, start);
  if (!/^ *$/.test(indent))
    throw new OdpError('USAGE', `${file}: cannot tell the indentation of migration.versions`);
  // After the list's last line of content: its range also takes in the blank
  // and comment lines that follow it, which belong to what comes next.
  let end = seq.range![1];
  for (;;) {
    const lineStart = text.lastIndexOf('\n', end - 2) + 1;
    const line = text.slice(lineStart, end).trim();
    if (lineStart <= start || (line !== '' && !line.startsWith('#'))) break;
    end = lineStart;
  }
  if (!text.slice(0, end).endsWith('\n')) {
    const newline = text.indexOf('\n', end);
    end = newline < 0 ? text.length : newline + 1;
  }
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const before = text.slice(0, end);
  const item = `${before.endsWith('\n') || before === '' ? '' : eol}${indent}- version: ${version}${eol}`;
  const result = `${before}${item}${text.slice(end)}`;
  const after = versionsOf(result, file).versions;
  // The textual edit must mean what it says: the old list plus the version, last.
  if (after.length !== versions.length + 1 || after.at(-1) !== version) {
    throw new OdpError('INTERNAL', `${file}: appending version ${version} did not give the expected list`, {
      detail: after.join(', '),
    });
  }
  return { text: result, added: true };
}
