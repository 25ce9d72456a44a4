// Release version arithmetic for an Odoo project's odoo/VERSION: the versions
// marabunta orders, three-part `x.y.z` or five-part `series.x.y.z`
// (`14.0.1.2.0`), whose first two numbers are the Odoo series and never move.
import { OdpError } from '../errors.js';

export const BUMP_KINDS = ['major', 'feature', 'patch'] as const;
export type BumpKind = (typeof BUMP_KINDS)[number];

export interface ProjectVersion {
  /** The Odoo series of a five-part version (`14.0`), absent for three-part ones. */
  series?: string;
  /** The project's own major, feature and patch numbers. */
  major: number;
  feature: number;
  patch: number;
}

// No leading zeros: `01` and `1` would be different tags and image tags but the
// same version to marabunta, which compares numbers.
const NUMBER = '(0|[1-9][0-9]*)';
const THREE = new RegExp(`^${NUMBER}\\.${NUMBER}\\.${NUMBER}$`);
const FIVE = new RegExp(`^${NUMBER}\\.${NUMBER}\\.${NUMBER}\\.${NUMBER}\\.${NUMBER}$`);

/**
 * Parses the content of odoo/VERSION: one version on one line (surrounding
 * whitespace, such as the trailing newline, is ignored). `file` only names the
 * file in the error.
 */
export function parseVersion(content: string, file = 'odoo/VERSION'): ProjectVersion {
  const text = content.trim();
  const three = THREE.exec(text);
  if (three) return { major: Number(three[1]), feature: Number(three[2]), patch: Number(three[3]) };
  const five = FIVE.exec(text);
  if (five) {
    return {
      series: `${five[1]}.${five[2]}`,
      major: Number(five[3]),
      feature: Number(five[4]),
      patch: Number(five[5]),
    };
  }
  const shown = content.length > 60 ? `${content.slice(0, 60)}…` : content;
  throw new OdpError('USAGE', `${file} holds ${JSON.stringify(shown)}, not a release version`, {
    hint: `${file} must hold one version on one line: x.y.z (e.g. 10.1.0) or series.x.y.z (e.g. 14.0.1.2.0).`,
  });
}

export function formatVersion(v: ProjectVersion): string {
  const own = `${v.major}.${v.feature}.${v.patch}`;
  return v.series ? `${v.series}.${own}` : own;
}

/** The next version: major → x+1.0.0, feature → x.y+1.0, patch → x.y.z+1; the series stays. */
export function bumpVersion(v: ProjectVersion, kind: BumpKind): ProjectVersion {
  switch (kind) {
    case 'major':
      return { ...v, major: v.major + 1, feature: 0, patch: 0 };
    case 'feature':
      return { ...v, feature: v.feature + 1, patch: 0 };
    case 'patch':
      return { ...v, patch: v.patch + 1 };
  }
}

/** parseVersion, bumpVersion and formatVersion in one call: `nextVersion('14.0.1.2.0', 'feature')` is `14.0.1.3.0`. */
export function nextVersion(content: string, kind: BumpKind, file = 'odoo/VERSION'): string {
  return formatVersion(bumpVersion(parseVersion(content, file), kind));
}
