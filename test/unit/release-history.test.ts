// HISTORY.rst at release time: the unreleased entries move under the new
// version, the unreleased section keeps its empty headings, the rest of the
// file keeps every byte.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { isOdpError } from '../../src/errors.js';
import { NOTHING_RECORDED, releaseHistory } from '../../src/release/history-rst.js';

const sample = readFileSync(new URL('../../examples/odoo-project/HISTORY.rst', import.meta.url), 'utf8');

// camptocamp's odoo-template, with a release below and entries in two sub-sections.
const template = `.. :changelog:

.. Template:

.. 0.0.1 (2016-05-09)
.. ++++++++++++++++++

.. **Features and Improvements**

.. **Bugfixes**

Release History
===============

latest (unreleased)
+++++++++++++++++++

**Features and Improvements**

* Add the sales dashboard
* Install \`\`mail_company_domain\`\`, allowing different alias
  domains per company

**Bugfixes**

**Improvements**

**Build**

* Use camptocamp/odoo-project:14.0-5.1.0

**Documentation**


14.0.1.0.0 (2023-03-01)
+++++++++++++++++++++++

**Features and Improvements**

* First release
`;

const previous = template.slice(template.indexOf('14.0.1.0.0 (2023-03-01)'));

describe('releaseHistory', () => {
  test('moves the entries under the version and keeps the empty sub-section headings', () => {
    const r = releaseHistory(template, { version: '14.0.1.1.0', date: '2024-05-02' });
    assert.equal(
      r.text,
      `${template.slice(0, template.indexOf('latest (unreleased)'))}latest (unreleased)
+++++++++++++++++++

**Features and Improvements**

**Bugfixes**

**Improvements**

**Build**

**Documentation**


14.0.1.1.0 (2024-05-02)
+++++++++++++++++++++++

**Features and Improvements**

* Add the sales dashboard
* Install \`\`mail_company_domain\`\`, allowing different alias
  domains per company

**Build**

* Use camptocamp/odoo-project:14.0-5.1.0


${previous}`,
    );
    assert.equal(r.entries, 3);
    assert.deepEqual(r.sections, ['Features and Improvements', 'Build']);
    assert.equal(r.empty, false);
  });

  test('the underline is as long as the new heading', () => {
    const r = releaseHistory(template, { version: '1.10.100', date: '2024-12-31' });
    const lines = r.text.split('\n');
    const at = lines.indexOf('1.10.100 (2024-12-31)');
    assert.ok(at > 0);
    assert.equal(lines[at + 1], '+'.repeat('1.10.100 (2024-12-31)'.length));
  });

  test('a second release right after: empty unreleased section is allowed and says so', () => {
    const first = releaseHistory(template, { version: '14.0.1.1.0', date: '2024-05-02' });
    const second = releaseHistory(first.text, { version: '14.0.1.1.1', date: '2024-05-03' });
    assert.equal(second.empty, true);
    assert.equal(second.entries, 0);
    assert.ok(
      second.text.includes(
        `14.0.1.1.1 (2024-05-03)\n+++++++++++++++++++++++\n\n${NOTHING_RECORDED}\n\n\n14.0.1.1.0 (2024-05-02)\n`,
      ),
      second.text,
    );
    // The release made by the first bump is untouched by the second.
    const tail = first.text.slice(first.text.indexOf('14.0.1.1.0 (2024-05-02)'));
    assert.ok(second.text.endsWith(tail));
  });

  test("the sample project's file", () => {
    const r = releaseHistory(sample, { version: '10.1.0', date: '2024-05-02' });
    assert.equal(r.entries, 1);
    assert.match(
      r.text,
      /^10\.1\.0 \(2024-05-02\)\n\+{19}\n\n\*\*Features and Improvements\*\*\n\n\* Sample data/m,
    );
    assert.ok(r.text.endsWith(sample.slice(sample.indexOf('10.0.0 (2024-01-15)'))));
    assert.equal(r.text.indexOf('latest (unreleased)'), sample.indexOf('latest (unreleased)'));
  });

  test('a file with only the unreleased section', () => {
    const r = releaseHistory(
      'latest (unreleased)\n+++++++++++++++++++\n\n**Bugfixes**\n\n* Fix the export\n',
      {
        version: '1.0.1',
        date: '2024-01-02',
      },
    );
    assert.equal(
      r.text,
      'latest (unreleased)\n+++++++++++++++++++\n\n**Bugfixes**\n\n\n1.0.1 (2024-01-02)\n++++++++++++++++++\n\n**Bugfixes**\n\n* Fix the export\n',
    );
  });

  test('keeps CRLF line endings', () => {
    const crlf = template.replace(/\n/g, '\r\n');
    const r = releaseHistory(crlf, { version: '14.0.1.1.0', date: '2024-05-02' });
    assert.ok(!/[^\r]\n/.test(r.text));
    assert.ok(r.text.endsWith(previous.replace(/\n/g, '\r\n')));
  });

  test('refuses a file without an unreleased section', () => {
    const without = template.replace('latest (unreleased)\n+++++++++++++++++++\n', '');
    assert.throws(
      () => releaseHistory(without, { version: '14.0.1.1.0', date: '2024-05-02' }),
      (e: unknown) =>
        isOdpError(e) &&
        e.code === 'USAGE' &&
        /HISTORY\.rst has no "latest \(unreleased\)" section/.test(e.message),
    );
    // The heading mentioned only in a comment is no section.
    assert.throws(() =>
      releaseHistory('.. latest (unreleased)\n.. +++++++++++++++++++\n', { version: '1.0.0', date: 'd' }),
    );
  });

  test('refuses a version that already has its section', () => {
    assert.throws(
      () => releaseHistory(template, { version: '14.0.1.0.0', date: '2024-05-02' }),
      (e: unknown) =>
        isOdpError(e) &&
        e.code === 'ALREADY_EXISTS' &&
        /already has a section for 14\.0\.1\.0\.0/.test(e.message),
    );
  });
});
