"""Sessions: in Redis as session_redis stores them (key `session::<prefix>:<sid>`
with the double colon the addon really produces, JSON value, TTL refreshed on
each save), or in the process when ODOO_SESSION_REDIS is off."""
import json
import logging
import re
import secrets
import threading
import time

from . import settings

_logger = logging.getLogger('odoo.addons.session_redis')
SID_RE = re.compile(r'^[a-f0-9]{40}$')
DEFAULT_EXPIRATION = 7 * 24 * 3600


def new_sid():
    return secrets.token_hex(20)


def valid_sid(sid):
    return bool(sid and SID_RE.match(sid))


class MemoryStore:
    def __init__(self, expiration):
        self.expiration = expiration
        self._data, self._lock = {}, threading.Lock()

    def save(self, sid, doc):
        with self._lock:
            self._data[sid] = (time.monotonic() + self.expiration, json.dumps(doc))

    def get(self, sid):
        with self._lock:
            item = self._data.get(sid)
            if item is None or item[0] < time.monotonic():
                self._data.pop(sid, None)
                return None
            return json.loads(item[1])

    def delete(self, sid):
        with self._lock:
            self._data.pop(sid, None)


class RedisStore:
    def __init__(self, expiration):
        import redis
        e = settings.env
        password = e('ODOO_SESSION_REDIS_PASSWORD') or None
        if e('ODOO_SESSION_REDIS_URL'):
            self.redis = redis.Redis.from_url(e('ODOO_SESSION_REDIS_URL'))
            where = 'url'
        elif e('ODOO_SESSION_REDIS_SENTINEL_HOST'):
            from redis.sentinel import Sentinel
            master = e('ODOO_SESSION_REDIS_SENTINEL_MASTER_NAME')
            if not master:
                raise RuntimeError('ODOO_SESSION_REDIS_SENTINEL_MASTER_NAME is required with a sentinel')
            sentinel = Sentinel([(e('ODOO_SESSION_REDIS_SENTINEL_HOST'),
                                  int(e('ODOO_SESSION_REDIS_SENTINEL_PORT', '26379')))], password=password)
            self.redis = sentinel.master_for(master)
            where = 'sentinel %s' % e('ODOO_SESSION_REDIS_SENTINEL_HOST')
        else:
            self.redis = redis.Redis(host=e('ODOO_SESSION_REDIS_HOST', 'localhost'),
                                     port=int(e('ODOO_SESSION_REDIS_PORT', '6379')), password=password)
            where = '%s:%s' % (e('ODOO_SESSION_REDIS_HOST', 'localhost'), e('ODOO_SESSION_REDIS_PORT', '6379'))
        prefix = e('ODOO_SESSION_REDIS_PREFIX')
        # session_redis: prefix "session:" then "%s:%s:" % ("session:", prefix).
        self.prefix = 'session::%s:' % prefix if prefix else 'session:'
        self.expiration = expiration
        _logger.info('HTTP sessions stored in Redis (%s) with prefix %s', where, self.prefix)

    def save(self, sid, doc):
        key = self.prefix + sid
        self.redis.set(key, json.dumps(doc))
        self.redis.expire(key, self.expiration)

    def get(self, sid):
        raw = self.redis.get(self.prefix + sid)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return {}

    def delete(self, sid):
        self.redis.delete(self.prefix + sid)


def make_store():
    expiration = int(settings.env('ODOO_SESSION_REDIS_EXPIRATION', str(DEFAULT_EXPIRATION)))
    if settings.truthy(settings.env('ODOO_SESSION_REDIS')):
        return RedisStore(expiration)
    _logger.info('HTTP sessions kept in this process (ODOO_SESSION_REDIS is off)')
    return MemoryStore(expiration)
