"""Logging like Odoo's: plain lines, or JSON lines when ODOO_LOGGING_JSON is set
(the logging_json addon's fields). Every line passes through a redactor so a
password that ends up in a message (an operation's output, a traceback) is
masked before it is written."""
import json
import logging
import os
import sys
import threading

from . import settings

_local = threading.local()


def set_request_id(value):
    _local.request_id = value


def request_id():
    return getattr(_local, 'request_id', None)


def _secrets():
    values = {os.environ.get(k, '') for k in settings.SECRET_VARS}
    # Very short values would mask ordinary words; they are not worth hiding anyway.
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def redact(text):
    for value in _secrets():
        text = text.replace(value, '********')
    return text


class _Base(logging.Formatter):
    dbname = None

    def format(self, record):
        return redact(self.render(record))


class PlainFormatter(_Base):
    def render(self, record):
        line = '%s %s %s %s %s: %s' % (
            self.formatTime(record), record.process, record.levelname,
            self.dbname or '?', record.name, record.getMessage())
        if record.exc_info:
            line += '\n' + self.formatException(record.exc_info)
        return line


class JsonFormatter(_Base):
    def render(self, record):
        doc = {
            'asctime': self.formatTime(record),
            'pid': record.process,
            'levelname': record.levelname,
            'dbname': self.dbname,
            'name': record.name,
            'message': record.getMessage(),
            'request_id': request_id(),
        }
        if record.exc_info:
            doc['exc_info'] = self.formatException(record.exc_info)
        return json.dumps(doc)


LEVELS = {'debug': logging.DEBUG, 'debug_rpc': logging.DEBUG, 'debug_sql': logging.DEBUG,
          'debug_rpc_answer': logging.DEBUG, 'info': logging.INFO, 'warn': logging.WARNING,
          'warning': logging.WARNING, 'error': logging.ERROR, 'critical': logging.CRITICAL}


def setup(dbname=None, level=None):
    formatter = JsonFormatter() if settings.truthy(os.environ.get('ODOO_LOGGING_JSON')) else PlainFormatter()
    formatter.dbname = dbname or settings.env('DB_NAME') or None
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(LEVELS.get((level or settings.env('LOG_LEVEL', 'info')).lower(), logging.INFO))
    for noisy in ('botocore', 'boto3', 's3transfer', 'urllib3'):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def passthrough(line):
    """In JSON mode, a line that already is a JSON log record (an `odoo` command
    run by an operation) is written as is, not wrapped in another record."""
    if not settings.truthy(os.environ.get('ODOO_LOGGING_JSON')) or not line.startswith('{'):
        return False
    try:
        if not isinstance(json.loads(line), dict):
            return False
    except ValueError:
        return False
    sys.stdout.write(redact(line if line.endswith('\n') else line + '\n'))
    sys.stdout.flush()
    return True
