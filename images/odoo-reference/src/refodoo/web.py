"""The HTTP service on 8069: the routes the platform, its proxies and its tests
rely on. One thread per request; HTTP/1.0 (one request per connection), so a
graceful stop only has to wait for the requests in flight."""
import hmac
import html
import json
import logging
import mimetypes
import re
import socket
import time
import uuid
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

from . import db, logs, sessions, settings, storage

_logger = logging.getLogger('odoo.http')
_access = logging.getLogger('werkzeug')
MAX_BODY = 1 << 30


class Statsd:
    """monitoring_statsd: a timer per request, over UDP, when ODOO_STATSD is on."""

    def __init__(self, env_name):
        self.sock = None
        if not settings.truthy(settings.env('ODOO_STATSD')):
            return
        customer = settings.env('STATSD_CUSTOMER')
        environment = settings.env('STATSD_ENVIRONMENT', env_name)
        if not customer or not environment:
            raise RuntimeError('ODOO_STATSD is on: STATSD_CUSTOMER and STATSD_ENVIRONMENT (or running_env) '
                               'are required')
        self.metric = 'odoo.http.request.%s.%s' % (customer, environment)
        self.addr = (settings.env('STATSD_HOST', 'localhost'), int(settings.env('STATSD_PORT', '8125')))
        self.sock = socket.socket(socket.AF_INET6 if settings.truthy(settings.env('STATSD_IPV6'))
                                  else socket.AF_INET, socket.SOCK_DGRAM)

    def timing(self, path, seconds):
        if self.sock is None or path.startswith('/longpolling/'):
            return
        try:
            self.sock.sendto(('%s:%d|ms' % (self.metric, seconds * 1000)).encode(), self.addr)
        except OSError:
            pass  # metrics must never break a request


class App:
    def __init__(self, cfg, pool, store, statsd):
        self.cfg, self.pool, self.store, self.statsd = cfg, pool, store, statsd
        self.version = settings.image_version()
        self.env_name = settings.running_env(cfg)
        self.never_healthy = settings.truthy(settings.env('REF_NEVER_HEALTHY'))

    def authenticate(self, login, password):
        admin = self.cfg.get('admin_passwd') or ''
        if login == 'admin' and admin and hmac.compare_digest(password.encode(), admin.encode()):
            return 2
        with self.pool.cursor() as cr:
            if not db.table_exists(cr, 'res_users'):
                return None
            cr.execute('SELECT id FROM res_users WHERE login = %s AND password = %s', (login, password))
            row = cr.fetchone()
            return row[0] if row else None


def _page(title, body):
    return ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>%s</title></head><body>%s</body></html>\n'
            % (html.escape(title), body)).encode()


class Handler(BaseHTTPRequestHandler):
    server_version = 'refodoo'

    def version_string(self):
        return self.server_version
    timeout = 60  # a stalled client must not hold a graceful stop forever

    @property
    def app(self):
        return self.server.app

    # -- plumbing

    def _send(self, status, body, ctype='application/json', headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def _body(self):
        length = int(self.headers.get('Content-Length') or 0)
        if length > MAX_BODY:
            raise ValueError('request body too large')
        return self.rfile.read(length) if length > 0 else b''

    def _sid(self):
        cookie = SimpleCookie(self.headers.get('Cookie') or '')
        sid = cookie['session_id'].value if 'session_id' in cookie else None
        return sid if sessions.valid_sid(sid) else None

    def _dispatch(self):
        logs.set_request_id(uuid.uuid4().hex)
        started = time.monotonic()
        url = urlsplit(self.path)
        self.query = parse_qs(url.query)
        try:
            self.route(url.path)
        except Exception:
            _logger.exception('error while serving %s %s', self.command, url.path)
            try:
                self._send(500, {'error': 'internal server error'})
            except OSError:
                pass
        finally:
            self.app.statsd.timing(url.path, time.monotonic() - started)
            logs.set_request_id(None)

    do_GET = do_POST = do_HEAD = _dispatch

    def log_request(self, code='-', size='-'):
        if not self.path.startswith('/monitoring/status'):  # monitoring_status filters its own line
            _access.info('%s - - "%s" %s %s', self.address_string(), self.requestline, code, size)

    def log_message(self, fmt, *args):
        _access.debug(fmt, *args)

    # -- routes

    def route(self, path):
        m, app = self.command, self.app
        if path == '/web/health':
            if app.never_healthy:
                return self._send(503, {'status': 'fail'})
            return self._send(200, {'status': 'pass'})
        if path == '/monitoring/status':
            return self._send(200, {'status': 1})
        if path in ('/', '/web', '/web/login') and m in ('GET', 'HEAD'):
            return self._send(200, _page('Odoo', '<h1>Odoo (reference workload)</h1><p>Version: %s</p>'
                                         '<p>Environment: %s</p>' % (html.escape(app.version),
                                                                     html.escape(app.env_name))),
                              'text/html; charset=utf-8')
        if path == '/web/version':
            return self._send(200, {'version': app.version})
        if path == '/web/login' and m == 'POST':
            return self.login()
        if path == '/web/session/get_session_info':
            return self.session_info()
        if path in ('/web/session/destroy', '/web/session/logout'):
            sid = self._sid()
            if sid:
                app.store.delete(sid)
            return self._send(200, {'result': True})
        if path == '/web/binary/upload_attachment' and m == 'POST':
            return self.upload()
        match = re.match(r'^/web/content/(\d+)(/.*)?$', path)
        if match and m in ('GET', 'HEAD'):
            return self.content(int(match.group(1)))
        if path == '/web/database/manager' or path.startswith('/web/database/'):
            return self._send(200, _page('Odoo', '<h1>Database manager</h1><p>Manage databases: %s</p>'
                                         % html.escape(db.current.name)), 'text/html; charset=utf-8')
        return self._send(404, {'error': 'not found'})

    def login(self):
        raw = self._body()
        if 'json' in (self.headers.get('Content-Type') or ''):
            doc = json.loads(raw or b'{}')
            doc = doc.get('params', doc) if isinstance(doc, dict) else {}
        else:
            doc = {k: v[0] for k, v in parse_qs(raw.decode('utf-8', 'replace')).items()}
        login, password = str(doc.get('login') or ''), str(doc.get('password') or '')
        uid = self.app.authenticate(login, password) if login and password else None
        if uid is None:
            _logger.info('Login failed for login:%s', login)
            return self._send(401, {'error': 'Wrong login/password'})
        sid = sessions.new_sid()
        self.app.store.save(sid, {'uid': uid, 'login': login, 'db': db.current.name, 'context': {}})
        _logger.info('Login successful for login:%s', login)
        cookie = 'session_id=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Lax' % (sid, self.app.store.expiration)
        return self._send(200, {'uid': uid, 'login': login, 'db': db.current.name},
                          headers=[('Set-Cookie', cookie)])

    def session_info(self):
        self._body()
        sid = self._sid()
        doc = self.app.store.get(sid) if sid else None
        if not doc or not doc.get('uid'):
            return self._send(401, {'error': 'Session expired'})
        return self._send(200, {'uid': doc['uid'], 'username': doc.get('login'), 'db': doc.get('db')})

    def upload(self):
        data = self._body()
        name = (self.query.get('name') or ['upload'])[0]
        with self.app.pool.cursor() as cr:
            att_id, checksum = storage.store(cr, name, data)
        return self._send(200, {'id': att_id, 'checksum': checksum})

    def content(self, att_id):
        with self.app.pool.cursor() as cr:
            found = storage.read(cr, att_id)
        if found is None:
            return self._send(404, {'error': 'not found'})
        name, data = found
        ctype = mimetypes.guess_type(name or '')[0] or 'application/octet-stream'
        disposition = "inline; filename*=UTF-8''%s" % quote(name or str(att_id))
        return self._send(200, data, ctype, headers=[('Content-Disposition', disposition)])


class Server(ThreadingHTTPServer):
    # Threads are joined on server_close(): requests in flight finish on stop.
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True
    request_queue_size = 128


def make_server(app, host, port):
    server = Server((host, port), Handler)
    server.app = app
    return server
