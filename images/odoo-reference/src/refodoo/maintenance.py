"""marabunta's maintenance web server: while a migration runs, port 8069
answers a maintenance page (503 + Retry-After) so the load balancer shows it,
except the configured health check path, so orchestrators do not kill the
migrating container."""
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_logger = logging.getLogger('marabunta')


DEFAULT_HTML = b"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Maintenance</title></head>
<body><h1>Maintenance in progress</h1>
<p>This instance is being upgraded and will be back in a few minutes.</p></body></html>
"""


class _MaintenanceHandler(BaseHTTPRequestHandler):
    server_version = 'marabunta'

    def version_string(self):
        return self.server_version

    def _answer(self):
        cfg = self.server.cfg
        length = int(self.headers.get('Content-Length') or 0)
        if 0 < length <= 1 << 20:
            self.rfile.read(length)
        if cfg.healthcheck_path and self.path.split('?')[0] == cfg.healthcheck_path:
            status, body, ctype = 200, b'OK\n', 'text/plain'
        else:
            status, body, ctype = cfg.resp_status, self.server.html, 'text/html; charset=utf-8'
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        if status != 200:
            self.send_header('Retry-After', cfg.retry_after)
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _answer

    def log_message(self, fmt, *args):
        _logger.debug('maintenance page: ' + fmt, *args)


def start_maintenance(cfg):
    html = DEFAULT_HTML
    if cfg.custom_html:
        with open(cfg.custom_html, 'rb') as f:
            html = f.read()
    ThreadingHTTPServer.allow_reuse_address = True
    try:
        server = ThreadingHTTPServer((cfg.web_host, cfg.web_port), _MaintenanceHandler)
    except OSError as exc:
        _logger.warning('maintenance page not served on %s:%s: %s', cfg.web_host, cfg.web_port, exc)
        return None
    server.daemon_threads = True
    server.cfg, server.html = cfg, html
    threading.Thread(target=server.serve_forever, daemon=True, name='maintenance').start()
    _logger.info('maintenance page served on %s:%s', cfg.web_host, cfg.web_port)
    return server
