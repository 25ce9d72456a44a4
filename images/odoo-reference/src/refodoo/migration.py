"""Running a migration like marabunta: the MARABUNTA_* configuration, the
single-runner advisory lock, the marabunta_version table and the runner."""
import datetime
import json
import logging
import os
import shlex
import string
import subprocess
import threading
import time
import traceback

from . import db, logs, settings
from .maintenance import start_maintenance
from .marabunta import ConfigurationError, MigrationError, OperationError, ParseError, parse_file, version_key

_logger = logging.getLogger('marabunta')

LOCK_ID = 7141416871301361999
CONCURRENT_MSG = 'A concurrent process is already running the migration'
ERRORS = (ParseError, ConfigurationError, MigrationError, OperationError)


# ---------------------------------------------------------------- configuration

class Config:
    """MARABUNTA_* variables (marabunta/config.py), falling back to PG*."""

    def __init__(self):
        e = settings.env
        self.migration_file = e('MARABUNTA_MIGRATION_FILE', e('MIGRATION_CONFIG_FILE', '/odoo/migration.yml'))
        self.mode = e('MARABUNTA_MODE') or None
        self.force_version = e('MARABUNTA_FORCE_VERSION') or None
        # Forcing a version implies allowing a series (marabunta does the same).
        self.allow_serie = settings.truthy(e('MARABUNTA_ALLOW_SERIE')) or bool(self.force_version)
        self.override_translations = settings.truthy(e('MARABUNTA_OVERRIDE_TRANSLATIONS'))
        self.web_host = e('MARABUNTA_WEB_HOST', '0.0.0.0')
        self.web_port = int(e('MARABUNTA_WEB_PORT', '8069'))
        self.resp_status = int(e('MARABUNTA_WEB_RESP_STATUS', '503'))
        self.retry_after = e('MARABUNTA_WEB_RESP_RETRY_AFTER', '300')
        self.custom_html = e('MARABUNTA_WEB_CUSTOM_HTML') or None
        # No default: without the variable every path gets the maintenance page.
        self.healthcheck_path = e('MARABUNTA_WEB_HEALTHCHECK_PATH') or None
        cur = db.current
        cur.name = e('MARABUNTA_DATABASE', e('PGDATABASE', cur.name))
        cur.user = e('MARABUNTA_DB_USER', e('PGUSER', cur.user))
        cur.password = e('MARABUNTA_DB_PASSWORD', e('PGPASSWORD', cur.password))
        cur.port = e('MARABUNTA_DB_PORT', e('PGPORT', cur.port))
        cur.host = e('MARABUNTA_DB_HOST', e('PGHOST', cur.host))


# ---------------------------------------------------------------- lock

def acquire_lock(conn):
    """Hold LOCK_ID in `conn`'s open transaction, polling every 0.5 s. Returns
    True when another process held it first (we waited behind it)."""
    waited = False
    with conn.cursor() as cr:
        while True:
            cr.execute('SELECT pg_try_advisory_xact_lock(%s)', (LOCK_ID,))
            if cr.fetchone()[0]:
                return waited
            if not waited:
                _logger.info(CONCURRENT_MSG)
                waited = True
            time.sleep(0.5)


class KeepAlive(threading.Thread):
    """A `SELECT 1` every 30 s so the lock's idle transaction is not cut by a proxy."""

    def __init__(self, conn):
        super().__init__(daemon=True, name='lock-keepalive')
        self.conn, self.stop = conn, threading.Event()

    def run(self):
        while not self.stop.wait(30):
            with self.conn.cursor() as cr:
                cr.execute('SELECT 1')


# ---------------------------------------------------------------- table

def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class Table:
    """marabunta_version, written with short autocommit connections so a record
    survives whatever happens to the migration afterwards."""

    def _exec(self, query, args=()):
        conn = db.connect()
        try:
            with conn.cursor() as cr:
                cr.execute(query, args)
                return cr.fetchall() if cr.description else None
        finally:
            conn.close()

    def create(self):
        self._exec('CREATE TABLE IF NOT EXISTS marabunta_version (number VARCHAR NOT NULL PRIMARY KEY, '
                   'date_start TIMESTAMP NOT NULL, date_done TIMESTAMP, log TEXT, addons TEXT)')

    def versions(self):
        return [{'number': r[0], 'date_done': r[1]}
                for r in self._exec('SELECT number, date_done FROM marabunta_version')]

    def start(self, number):
        self._exec('INSERT INTO marabunta_version (number, date_start) VALUES (%s, %s) '
                   'ON CONFLICT (number) DO UPDATE SET date_start = EXCLUDED.date_start, '
                   'date_done = NULL, log = NULL, addons = NULL', (number, _utcnow()))

    def record_log(self, number, log):
        self._exec('UPDATE marabunta_version SET log = %s WHERE number = %s', (log, number))

    def finish(self, number, log, addons):
        self._exec('UPDATE marabunta_version SET date_done = %s, log = %s, addons = %s WHERE number = %s',
                   (_utcnow(), log, addons, number))

    def installed_addons(self):
        if not self._exec("SELECT to_regclass('ir_module_module') IS NOT NULL")[0][0]:
            return []
        rows = self._exec('SELECT name, state FROM ir_module_module ORDER BY name')
        return [{'name': name, 'state': state} for name, state in rows]


# ---------------------------------------------------------------- runner

class Runner:
    def __init__(self, cfg, migration):
        self.cfg, self.migration, self.table = cfg, migration, Table()

    def operation(self, command, output, shown=None):
        _logger.info('|> operation: %s', shown or command)
        proc = subprocess.Popen(['sh', '-c', command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=os.environ.copy(), text=True, errors='replace')
        out = logging.getLogger('marabunta.operation')
        for line in proc.stdout:
            output.append(line)
            if not logs.passthrough(line):
                out.info('%s', line.rstrip('\n'))
        rc = proc.wait()
        if rc != 0:
            why = 'killed by signal %s' % -rc if rc < 0 else 'exit status %s' % rc
            raise OperationError('%s returned with %s' % (shown or command, why))

    def _installed_names(self):
        return {a['name'] for a in self.table.installed_addons() if a['state'] == 'installed'}

    def upgrade_addons(self, addons, version, output):
        installed = self._installed_names()
        new = [a for a in addons if a not in installed]
        upd = [a for a in addons if a in installed]
        cmd = shlex.split(self.migration.install_command) + ['--workers=0', '--stop-after-init', '--no-http']
        if new:
            cmd += ['-i', ','.join(new)]
        if upd:
            cmd += ['-u', ','.join(upd)]
        if version.override_translations or self.cfg.override_translations:
            cmd.append('--i18n-overwrite')
        self.operation(shlex.join(cmd), output)

    def run_version(self, version, done_addons):
        _logger.info('processing version %s', version.number)
        self.table.start(version.number)
        output = []
        mode = version.part(self.cfg.mode) or {'pre': [], 'post': [], 'upgrade': []}
        try:
            for cmd in version.base['pre'] + mode['pre']:
                self.operation(cmd, output)
            addons = [a for a in dict.fromkeys(version.base['upgrade'] + mode['upgrade']) if a not in done_addons]
            if addons:
                self.upgrade_addons(addons, version, output)
                done_addons.update(addons)
            for cmd in version.base['post'] + mode['post']:
                self.operation(cmd, output)
        except Exception:
            output.append(traceback.format_exc())
            self.table.record_log(version.number, logs.redact(''.join(output)))
            raise
        self.table.finish(version.number, logs.redact(''.join(output)), json.dumps(self.table.installed_addons()))
        _logger.info('version %s done', version.number)

    def backup(self):
        opts = self.migration.backup
        ignore_if = opts.get('ignore_if')
        if ignore_if and subprocess.call(['sh', '-c', ignore_if], env=os.environ.copy()) == 0:
            _logger.info('backup skipped: ignore_if succeeded')
            return
        cur = db.current
        command = string.Template(opts['command']).safe_substitute(
            database=cur.name, db_user=cur.user, db_password=cur.password, db_host=cur.host, db_port=cur.port)
        try:
            # Shown as written in migration.yml: the substituted line holds the password.
            self.operation(command, [], shown='backup: ' + opts['command'])
        except OperationError:
            if opts.get('stop_on_failure', True):
                raise
            _logger.warning('backup failed; going on (stop_on_failure is false)')

    def perform(self):
        cfg, versions = self.cfg, self.migration.versions
        self.table.create()
        db_versions = self.table.versions()
        unfinished = [v['number'] for v in db_versions if v['date_done'] is None]
        if unfinished and not cfg.force_version:
            raise MigrationError(
                'Upgrade of version {} has been attempted and failed. You may want to restore the backup or '
                'to run again the migration with the MARABUNTA_FORCE_VERSION environment variable or to fix '
                "it manually (in that case, you will have to update the 'marabunta_version' table yourself."
                .format(','.join(unfinished)))
        done = {v['number'] for v in db_versions if v['date_done'] is not None}
        unprocessed = [v for v in versions if not v.noop and v.number not in done]
        if not cfg.allow_serie and len(unprocessed) > 1:
            raise MigrationError('Only one version can be upgraded at a time.\nThe following versions need to '
                                 'be applied: {}.\n'.format([v.number for v in unprocessed]))
        if not cfg.force_version and db_versions and unprocessed:
            installed = max(db_versions, key=lambda v: version_key(v['number']))['number']
            following = min(unprocessed, key=lambda v: v.key)
            if version_key(installed) > following.key:
                raise MigrationError('The version you are trying to install ({}) is below the current database '
                                     'version ({}).'.format(following.number, installed))
        pending = [v for v in versions if v.number not in done]
        if self.migration.backup and (cfg.force_version or any(v.backup for v in pending)):
            self.backup()
        done_addons = set()
        for version in versions:
            if cfg.force_version:
                if version.number != cfg.force_version:
                    continue
                _logger.info('force-execute version %s', version.number)
            elif version.number in done:
                _logger.info('version %s is already installed', version.number)
                continue
            self.run_version(version, done_addons)


def run(cfg=None):
    """The `marabunta` command: maintenance page, lock, then the versions."""
    cfg = cfg or Config()
    web = start_maintenance(cfg)
    try:
        migration = parse_file(cfg.migration_file)
        conn = db.connect(autocommit=False)
        keepalive = KeepAlive(conn)
        try:
            if acquire_lock(conn):
                # The other process finished (or failed): look at the table again.
                _logger.info('the concurrent migration ended; re-evaluating the versions')
            keepalive.start()
            Runner(cfg, migration).perform()
        finally:
            keepalive.stop.set()
            conn.close()
    finally:
        if web is not None:
            web.shutdown()
            web.server_close()
