"""Commands of the image, dispatched on the name they are called by
(/odoo-bin/<name> are symlinks to one launcher)."""
import argparse
import logging
import os
import signal
import sys
import threading
import time

from . import cloud, db, logs, migration, sessions, settings, web, websocket

_logger = logging.getLogger('odoo')


def _modules(value):
    return [m.strip() for m in (value or '').split(',') if m.strip()]


def odoo_install(args):
    """`odoo --stop-after-init -i a,b -u c`: what marabunta runs for addons.
    The stand-in has no addons; it records them as installed in ir_module_module."""
    init, update = _modules(args.init), _modules(args.update)
    with db.cursor() as cr:
        db.ensure_schema(cr)
        # A database always gets `base` on first initialisation.
        for name in ['base'] + init + [m for m in update if m != 'all']:
            cr.execute("INSERT INTO ir_module_module (name, state) VALUES (%s, 'installed') "
                       "ON CONFLICT (name) DO UPDATE SET state = 'installed'", (name,))
    for name in init:
        _logger.info('module %s: installed', name)
    for name in update:
        _logger.info('module %s: updated', name)
    return 0


def odoo_serve(cfg, args):
    env_name = settings.running_env(cfg)
    _logger.info('Odoo (reference workload) version %s, running_env=%s', settings.image_version(), env_name)
    _logger.info('workers=%s max_cron_threads=%s: the stand-in serves every request from threads of one process',
                 cfg.get('workers'), cfg.get('max_cron_threads'))
    if db.database_exists():
        # The registry load: cloud_platform's _register_hook checks here, and a
        # failed check means Odoo does not start for this database.
        with db.cursor() as cr:
            db.ensure_schema(cr)
            try:
                cloud.check(cr)
            except cloud.CheckFailed as exc:
                _logger.error('cloud platform check failed, Odoo refuses to start: %s', exc)
                return 1
    else:
        _logger.warning('database %s does not exist', db.current.name)
    app = web.App(cfg, db.Pool(cfg.get('db_maxconn') or 64), sessions.make_store(),
                  web.Statsd(env_name))
    delay = float(settings.env('REF_START_DELAY', '0'))
    if delay > 0:
        _logger.info('REF_START_DELAY: waiting %ss before serving', delay)
        time.sleep(delay)
    http = web.make_server(app, '0.0.0.0', args.http_port)
    ws = websocket.Server(('0.0.0.0', args.gevent_port))
    for server, name in ((http, 'http'), (ws, 'websocket')):
        threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    _logger.info('HTTP service running on 0.0.0.0:%s, websocket/longpolling on 0.0.0.0:%s',
                 args.http_port, args.gevent_port)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    _logger.info('stopping gracefully: no new connections, finishing requests in flight')
    ws.stop()
    http.shutdown()
    http.server_close()  # joins the request threads
    app.pool.close()
    _logger.info('stopped')
    return 0


def odoo_main(argv):
    if argv[:1] == ['shell']:
        print('odoo shell is not available in the reference workload', file=sys.stderr)
        return 2
    p = argparse.ArgumentParser(prog='odoo', description='Reference workload standing in for Odoo.')
    p.add_argument('-c', '--config')
    p.add_argument('-d', '--database')
    p.add_argument('-i', '--init')
    p.add_argument('-u', '--update')
    p.add_argument('--stop-after-init', action='store_true')
    p.add_argument('--log-level')
    p.add_argument('--http-port', '-p', type=int, default=8069)
    p.add_argument('--gevent-port', '--longpolling-port', type=int, default=8072)
    args, ignored = p.parse_known_args(argv)
    cfg = settings.read_config(args.config)
    db.current.from_config(cfg)
    if args.database:
        db.current.name = args.database
    logs.setup(db.current.name, args.log_level or cfg.get('log_level'))
    if ignored:
        _logger.debug('options without effect in the stand-in: %s', ' '.join(ignored))
    return odoo_install(args) if args.stop_after_init else odoo_serve(cfg, args)


def migrate_main(argv):
    """bin/migrate: create the database when missing, then run marabunta."""
    logs.setup()
    for src, dst in (('DB_NAME', 'MARABUNTA_DATABASE'), ('DB_USER', 'MARABUNTA_DB_USER'),
                     ('DB_PASSWORD', 'MARABUNTA_DB_PASSWORD'), ('DB_HOST', 'MARABUNTA_DB_HOST'),
                     ('DB_PORT', 'MARABUNTA_DB_PORT')):
        if os.environ.get(src) and not os.environ.get(dst):
            os.environ[dst] = os.environ[src]
    os.environ.setdefault('MARABUNTA_MIGRATION_FILE', settings.env('MIGRATION_CONFIG_FILE', '/odoo/migration.yml'))
    return marabunta_main(argv, create_db=True)


def marabunta_main(argv, create_db=False):
    logs.setup()
    try:
        cfg = migration.Config()
        if create_db:
            db.ensure_database()
        migration.run(cfg)
        return 0
    except migration.ERRORS as exc:
        _logger.error('migration failed: %s: %s', type(exc).__name__, exc)
        return 1
    except Exception:
        _logger.exception('migration failed')
        return 1


def wait_postgres_main(argv):
    logs.setup()
    # As long as a deploy's own health deadline (odp's default: 10 min): a PostgreSQL that
    # starts slowly on a busy host is still starting, not gone.
    timeout = float(settings.env('WAIT_POSTGRES_TIMEOUT', '600'))
    db.wait_postgres(timeout)
    return 0


def render_config_main(argv):
    settings.write_config(argv[0] if argv else settings.env('ODOO_RC', settings.DEFAULT_RC))
    return 0


def load_sample_main(argv):
    logs.setup()
    count = int(argv[0]) if argv else 10
    with db.cursor() as cr:
        db.ensure_schema(cr)
        cr.execute("INSERT INTO res_partner (name) SELECT 'Sample partner ' || n FROM generate_series(1, %s) n",
                   (count,))
    _logger.info('inserted %d sample partners', count)
    return 0


def install_cloud_platform_main(argv):
    """The cloud_platform install song. Like anthem, all or nothing: an error rolls back."""
    logs.setup()
    try:
        with db.cursor() as cr:
            db.ensure_schema(cr)
            cloud.install(cr, argv[0] if argv else 'exoscale')
    except cloud.CheckFailed as exc:
        _logger.error('cloud platform install failed: %s', exc)
        return 1
    return 0


def set_url_main(argv):
    """start-entrypoint.d: web.base.url / report.url from the environment.
    Like the real hooks, a missing database or table is not an error."""
    logs.setup()
    var, key = {'base': ('ODOO_BASE_URL', 'web.base.url'), 'report': ('ODOO_REPORT_URL', 'report.url')}[argv[0]]
    url = settings.env(var)
    if not url or not db.database_exists():
        return 0
    with db.cursor() as cr:
        if not db.table_exists(cr, 'ir_config_parameter'):
            return 0
        db.set_param(cr, key, url)
        if key == 'web.base.url':
            db.set_param(cr, 'web.base.url.freeze', 'True')
    _logger.info('%s set to %s', key, url)
    return 0


COMMANDS = {
    'odoo': odoo_main,
    'migrate': migrate_main,
    'marabunta': marabunta_main,
    'wait_postgres': wait_postgres_main,
    'render-odoo-config': render_config_main,
    'ref-load-sample': load_sample_main,
    'ref-install-cloud-platform': install_cloud_platform_main,
    'ref-set-url': set_url_main,
}


def main(argv=None):
    argv = list(sys.argv if argv is None else argv)
    name = os.path.basename(argv[0])
    if name not in COMMANDS and len(argv) > 1:
        name, argv = argv[1], argv[1:]
    command = COMMANDS.get(name)
    if command is None:
        print('usage: %s {%s} ...' % (os.path.basename(argv[0]), ','.join(sorted(COMMANDS))), file=sys.stderr)
        return 2
    return command(argv[1:])
