"""camptocamp/marabunta's migration.yml, re-implemented: the strict schema,
the version model and its ordering. Running the versions is in migration.py,
the maintenance page in maintenance.py."""
import logging
import re

import yaml


_logger = logging.getLogger('marabunta')


class ParseError(Exception):
    pass


class ConfigurationError(Exception):
    pass


class MigrationError(Exception):
    pass


class OperationError(Exception):
    pass


# ---------------------------------------------------------------- parsing

class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of keeping the last one."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ParseError('duplicate key %r at line %s' % (key, key_node.start_mark.line + 1))
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


VERSION_RE = re.compile(r'^(\d+)\.(\d+)\.(\d+)(\.(\d+)\.(\d+))?$|^setup$')


def version_key(number):
    """MarabuntaVersion: `setup` first; x.y.z is read as x.0.0.y.z."""
    match = VERSION_RE.match(number)
    if not match:
        raise ConfigurationError('Version %r is not a valid version: expected setup, X.Y.Z or A.B.X.Y.Z' % number)
    if number == 'setup':
        return (0, ())
    parts = [int(g) for g in match.group(1, 2, 3)]
    if match.group(4):
        parts += [int(match.group(5)), int(match.group(6))]
    else:
        parts = [parts[0], 0, 0, parts[1], parts[2]]
    return (1, tuple(parts))


def _check_keys(where, value, allowed):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ParseError('%s must be a mapping' % where)
    unknown = set(value) - set(allowed)
    if unknown:
        raise ParseError('%s: unknown key(s) %s (allowed: %s)' % (
            where, ', '.join(sorted(map(str, unknown))), ', '.join(allowed)))
    return value


def _commands(where, value):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise ParseError('%s must be a list of commands' % where)
    return value


def _part(where, value):
    """operations + addons of a version or of one of its modes."""
    ops = _check_keys(where + '.operations', value.get('operations'), ('pre', 'post'))
    addons = _check_keys(where + '.addons', value.get('addons'), ('upgrade', 'remove'))
    if addons.get('remove'):
        raise ConfigurationError('%s.addons.remove: removing addons is not yet supported' % where)
    upgrade = addons.get('upgrade') or []
    if not isinstance(upgrade, list) or not all(isinstance(a, str) for a in upgrade):
        raise ParseError('%s.addons.upgrade must be a list of addon names' % where)
    return {'pre': _commands(where + '.operations.pre', ops.get('pre')),
            'post': _commands(where + '.operations.post', ops.get('post')),
            'upgrade': upgrade}


class Version:
    def __init__(self, doc, index):
        where = 'versions[%d]' % index
        _check_keys(where, doc, ('version', 'operations', 'addons', 'modes', 'backup', 'override_translations'))
        if 'version' not in doc:
            raise ParseError('%s: missing key version' % where)
        self.number = str(doc['version'])
        self.key = version_key(self.number)
        where = 'version %s' % self.number
        self.base = _part(where, doc)
        self.modes = {}
        modes = doc.get('modes') or {}
        if not isinstance(modes, dict):
            raise ParseError('%s.modes must be a mapping of mode names' % where)
        for name, mode in modes.items():
            mode_where = '%s.modes.%s' % (where, name)
            self.modes[str(name)] = _part(mode_where, _check_keys(mode_where, mode, ('operations', 'addons')))
        self.noop = not any(p['pre'] or p['post'] or p['upgrade'] for p in [self.base] + list(self.modes.values()))
        self.backup = bool(doc.get('backup', not self.noop))
        self.override_translations = bool(doc.get('override_translations', False))

    def part(self, mode):
        return self.modes.get(mode) if mode else None


class Migration:
    def __init__(self, doc):
        top = _check_keys('top level', doc, ('migration',))
        mig = _check_keys('migration', top.get('migration'), ('options', 'versions'))
        opts = _check_keys('migration.options', mig.get('options'), ('install_command', 'install_args', 'backup'))
        if 'install_args' in opts:
            _logger.warning('migration.options.install_args is ignored: put the arguments in install_command')
        self.install_command = str(opts.get('install_command') or 'odoo')
        self.backup = _check_keys('migration.options.backup', opts.get('backup'),
                                  ('command', 'ignore_if', 'stop_on_failure')) or None
        if self.backup is not None and not self.backup.get('command'):
            raise ParseError('migration.options.backup: missing key command')
        raw = mig.get('versions') or []
        if not isinstance(raw, list):
            raise ParseError('migration.versions must be a list')
        self.versions = [Version(v, i) for i, v in enumerate(raw)]
        numbers = [v.number for v in self.versions]
        dupes = sorted({n for n in numbers if numbers.count(n) > 1})
        if dupes:
            raise ParseError('version(s) defined twice: %s' % ', '.join(dupes))
        if self.versions and self.versions[0].number != 'setup':
            _logger.warning('FutureWarning: the first version should be "setup"')
        self.versions.sort(key=lambda v: v.key)


def parse_file(path):
    try:
        with open(path) as f:
            return Migration(yaml.load(f, Loader=_StrictLoader))
    except yaml.YAMLError as exc:
        raise ParseError('%s: %s' % (path, exc))
    except OSError as exc:
        raise ParseError('cannot read %s: %s' % (path, exc.strerror))
