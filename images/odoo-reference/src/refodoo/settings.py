"""Environment and odoo.cfg: the image's configuration surface.

The entrypoint renders odoo.cfg from the environment like the real image's
template does; the `odoo` process then reads its database and tuning settings
back from that file (as Odoo does), while the cloud-platform parts (Redis,
S3, JSON logs) read the environment directly, as those addons do.
"""
import configparser
import os

# Values that must never reach a log line; see logs.Redactor.
SECRET_VARS = (
    'DB_PASSWORD', 'PGPASSWORD', 'MARABUNTA_DB_PASSWORD', 'ADMIN_PASSWD',
    'AWS_SECRET_ACCESS_KEY', 'ODOO_SESSION_REDIS_PASSWORD', 'ODOO_SESSION_REDIS_URL',
)

DEFAULT_RC = '/etc/odoo.cfg'


def truthy(value):
    return str(value or '').strip().lower() in ('1', 'true', 't', 'yes', 'y', 'on')


def env(name, default=''):
    """Like dockerize's `default`: an empty variable counts as unset."""
    value = os.environ.get(name)
    return default if value in (None, '') else value


def _one_line(value):
    # A newline in a variable must not be able to add keys to the INI file.
    return str(value).replace('\r', ' ').replace('\n', ' ')


def render_config():
    """odoo.cfg as the real template renders it (keys of odoo.cfg.tmpl, same defaults)."""
    keys = [
        ('addons_path', env('ADDONS_PATH', '/odoo/local-src,/odoo/src/addons')),
        ('data_dir', env('DATA_DIR', '/data/odoo')),
        ('auto_reload', 'False'),
        ('db_host', env('DB_HOST')),
        ('db_name', env('DB_NAME')),
        ('db_user', env('DB_USER')),
        ('db_password', env('DB_PASSWORD')),
        ('db_sslmode', env('DB_SSLMODE', 'prefer')),
        ('dbfilter', '^%s$' % env('DB_FILTER', env('DB_NAME'))),
        ('list_db', env('LIST_DB', 'False')),
        ('admin_passwd', env('ADMIN_PASSWD')),
        ('db_maxconn', env('DB_MAXCONN', '64')),
        ('limit_memory_soft', env('LIMIT_MEMORY_SOFT', '2147483648')),
        ('limit_memory_hard', env('LIMIT_MEMORY_HARD', '2684354560')),
        ('limit_request', env('LIMIT_REQUEST', '8192')),
        ('limit_time_cpu', env('LIMIT_TIME_CPU', '60')),
        ('limit_time_real', env('LIMIT_TIME_REAL', '120')),
        ('limit_time_real_cron', env('LIMIT_TIME_REAL_CRON', '120')),
        ('log_handler', env('LOG_HANDLER', ':INFO')),
        ('log_level', env('LOG_LEVEL', 'info')),
        ('max_cron_threads', env('MAX_CRON_THREADS', '2')),
        ('workers', env('WORKERS', '4')),
        ('logfile', env('LOGFILE', 'None')),
        ('log_db', env('LOG_DB', 'False')),
        ('logrotate', 'True'),
        ('syslog', env('SYSLOG', 'False')),
        ('running_env', env('RUNNING_ENV', 'dev')),
        ('without_demo', os.environ.get('WITHOUT_DEMO', 'all')),
        ('server_wide_modules', env('SERVER_WIDE_MODULES', '')),
        ('proxy_mode', 'True'),
        ('unaccent', env('UNACCENT', 'False')),
    ]
    lines = ['[options]'] + ['%s = %s' % (k, _one_line(v)) for k, v in keys]
    extra = os.environ.get('ADDITIONAL_ODOO_RC', '')
    if extra.strip():
        lines.append(extra.strip())
    return '\n'.join(lines) + '\n'


def write_config(path):
    text = render_config()
    # The file holds the database and admin passwords: owner-only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    os.chmod(path, 0o600)


def read_config(path=None):
    """The [options] of odoo.cfg as a dict; {} when there is no file yet."""
    parser = configparser.RawConfigParser(strict=False)
    parser.read(path or env('ODOO_RC', DEFAULT_RC))
    if not parser.has_section('options'):
        return {}
    return {k: (None if v in ('None', '') else v) for k, v in parser.items('options')}


def running_env(cfg=None):
    """running_env from odoo.cfg (what cloud_platform reads), else RUNNING_ENV."""
    cfg = read_config() if cfg is None else cfg
    return cfg.get('running_env') or env('RUNNING_ENV', 'dev')


def image_version():
    try:
        with open('/odoo/VERSION') as f:
            return f.read().strip() or 'unknown'
    except OSError:
        return 'unknown'
