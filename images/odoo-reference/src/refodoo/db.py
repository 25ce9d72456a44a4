"""PostgreSQL access: connection settings, the wait for the server, database
creation and the handful of Odoo tables the stand-in uses."""
import contextlib
import logging
import os
import socket
import threading
import time

import psycopg2
import psycopg2.errors
import psycopg2.pool
from psycopg2 import sql

from . import settings

_logger = logging.getLogger('odoo.sql_db')

# Serialises table creation between processes that start at the same moment.
SCHEMA_LOCK = 7141416871301362000

SCHEMA = """
CREATE TABLE IF NOT EXISTS ir_module_module (
    name VARCHAR PRIMARY KEY, state VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS ir_config_parameter (
    key VARCHAR PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ir_attachment (
    id SERIAL PRIMARY KEY, name VARCHAR, checksum VARCHAR(40), store_fname VARCHAR,
    db_datas BYTEA, create_date TIMESTAMP DEFAULT (now() AT TIME ZONE 'UTC'));
CREATE TABLE IF NOT EXISTS res_users (
    id SERIAL PRIMARY KEY, login VARCHAR UNIQUE NOT NULL, password VARCHAR);
CREATE TABLE IF NOT EXISTS res_partner (id SERIAL PRIMARY KEY, name TEXT);
"""


class Settings:
    """Connection settings. Defaults come from DB_* then PG* (what the entrypoint
    exports); the odoo process overrides them from odoo.cfg, marabunta from
    MARABUNTA_*. The port is never in odoo.cfg: libpq's PGPORT carries it."""

    def __init__(self):
        self.host = settings.env('DB_HOST', settings.env('PGHOST', 'db'))
        self.port = settings.env('PGPORT', settings.env('DB_PORT', '5432'))
        self.user = settings.env('DB_USER', settings.env('PGUSER', 'odoo'))
        self.password = settings.env('DB_PASSWORD', settings.env('PGPASSWORD', ''))
        self.name = settings.env('DB_NAME', settings.env('PGDATABASE', 'odoodb'))
        self.sslmode = settings.env('DB_SSLMODE', 'prefer')

    def from_config(self, cfg):
        self.host = cfg.get('db_host') or self.host
        self.user = cfg.get('db_user') or self.user
        self.password = cfg.get('db_password') or self.password
        self.name = cfg.get('db_name') or self.name
        self.sslmode = cfg.get('db_sslmode') or self.sslmode

    def kwargs(self, dbname=None):
        args = dict(host=self.host, port=self.port, user=self.user, dbname=dbname or self.name,
                    sslmode=self.sslmode, connect_timeout=10,
                    application_name=settings.env('PGAPPNAME', socket.gethostname()))
        if self.password:
            args['password'] = self.password
        return args


current = Settings()


def connect(dbname=None, autocommit=True):
    conn = psycopg2.connect(**current.kwargs(dbname))
    conn.autocommit = autocommit
    return conn


@contextlib.contextmanager
def cursor(dbname=None):
    """A short transaction: commit on success, rollback on error, always closed."""
    conn = connect(dbname, autocommit=False)
    try:
        with conn:
            with conn.cursor() as cr:
                yield cr
    finally:
        conn.close()


def wait_postgres(timeout):
    """wait_postgres.sh: the port first, then out of "starting up"; bounded."""
    deadline = time.monotonic() + timeout
    where = current.host if current.host.startswith('/') else 'tcp://%s:%s' % (current.host, current.port)
    while True:
        try:
            if current.host.startswith('/'):
                if not os.path.exists(os.path.join(current.host, '.s.PGSQL.%s' % current.port)):
                    raise OSError('no socket yet')
            else:
                socket.create_connection((current.host, int(current.port)), timeout=2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit('Timeout after %ss waiting on %s' % (timeout, where))
            time.sleep(0.5)
    while True:
        try:
            connect('postgres').close()
            return
        except psycopg2.OperationalError as exc:
            message = str(exc)
            if 'starting up' not in message and 'shutting down' not in message:
                return  # up; any other problem (auth, missing DB) is for the caller to report
            if time.monotonic() > deadline:
                raise SystemExit('Timeout after %ss: PostgreSQL is still starting up' % timeout)
            _logger.info('PostgreSQL is starting up, waiting')
            time.sleep(1)


def _maintenance_conn():
    try:
        return connect('postgres')
    except psycopg2.OperationalError:
        return connect('template1')


def database_exists(name=None):
    conn = _maintenance_conn()
    try:
        with conn.cursor() as cr:
            cr.execute('SELECT 1 FROM pg_database WHERE datname = %s', (name or current.name,))
            return cr.fetchone() is not None
    finally:
        conn.close()


def ensure_database():
    """bin/migrate's `createdb -O $DB_USER` when the database is missing."""
    if database_exists():
        return False
    conn = _maintenance_conn()
    try:
        with conn.cursor() as cr:
            cr.execute(sql.SQL('CREATE DATABASE {} OWNER {}').format(
                sql.Identifier(current.name), sql.Identifier(current.user)))
        _logger.info('created database %s', current.name)
        return True
    except (psycopg2.errors.DuplicateDatabase, psycopg2.errors.UniqueViolation):
        # Another container created it a moment ago (two CREATE DATABASE racing
        # can also end in a unique violation on pg_database).
        if not database_exists():
            raise
        return False
    finally:
        conn.close()


def ensure_schema(cr):
    cr.execute('SELECT pg_advisory_xact_lock(%s)', (SCHEMA_LOCK,))
    cr.execute(SCHEMA)


def table_exists(cr, name):
    cr.execute('SELECT to_regclass(%s) IS NOT NULL', (name,))
    return cr.fetchone()[0]


def get_param(cr, key, default=None):
    if not table_exists(cr, 'ir_config_parameter'):
        return default
    cr.execute('SELECT value FROM ir_config_parameter WHERE key = %s', (key,))
    row = cr.fetchone()
    return row[0] if row else default


def set_param(cr, key, value):
    cr.execute('INSERT INTO ir_config_parameter (key, value) VALUES (%s, %s) '
               'ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', (key, value))


class Pool:
    """A bounded pool for the HTTP threads: at most db_maxconn connections, and a
    request waits for a free one instead of failing when all are in use."""

    def __init__(self, maxconn):
        self.maxconn = max(1, int(maxconn))
        self._pool = psycopg2.pool.ThreadedConnectionPool(0, self.maxconn, **current.kwargs())
        self._slots = threading.BoundedSemaphore(self.maxconn)

    @contextlib.contextmanager
    def cursor(self):
        with self._slots:
            conn = self._pool.getconn()
            broken = False
            try:
                with conn:
                    with conn.cursor() as cr:
                        yield cr
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                broken = True
                raise
            finally:
                self._pool.putconn(conn, close=broken or conn.closed != 0)

    def close(self):
        self._pool.closeall()
