"""cloud_platform (exoscale flavour): the install song and the startup checks.
A failed check stops the server, as an AssertionError in _register_hook stops
Odoo's registry from loading."""
import logging
import os
import re

from . import db, settings, storage

_logger = logging.getLogger('odoo.addons.cloud_platform.models.cloud_platform')

# Where attachments go per environment (cloud_platform_exoscale._filestore_kinds).
FILESTORE = {'prod': 's3', 'integration': 's3', 'labs': 's3', 'test': 'db', 'dev': 'db'}


class CheckFailed(Exception):
    pass


def environment_name():
    name = settings.running_env()
    return 'labs' if name.startswith('labs') else name


def _require(condition, message):
    if not condition:
        raise CheckFailed(message)


def _check_redis(env_name):
    e = settings.env
    _require(settings.truthy(e('ODOO_SESSION_REDIS')),
             'Redis must be activated on prod, integration, labs and test instances. '
             'This is done by setting ODOO_SESSION_REDIS=1.')
    _require(e('ODOO_SESSION_REDIS_HOST') or e('ODOO_SESSION_REDIS_SENTINEL_HOST') or e('ODOO_SESSION_REDIS_URL'),
             'ODOO_SESSION_REDIS_HOST or ODOO_SESSION_REDIS_SENTINEL_HOST or ODOO_SESSION_REDIS_URL '
             'environment variable is required to connect on Redis')
    prefix = e('ODOO_SESSION_REDIS_PREFIX')
    _require(prefix, 'ODOO_SESSION_REDIS_PREFIX environment variable is required to store sessions on Redis')
    _require(re.match(r'^[a-z-0-9]+-odoo-[a-z-0-9]+$', prefix),
             'ODOO_SESSION_REDIS_PREFIX must match \'<client>-odoo-<env>\', we got: \'%s\'' % prefix)


def _check_s3(cr, env_name):
    use_s3 = db.get_param(cr, 'ir_attachment.location') == 's3'
    if env_name in ('prod', 'integration'):
        _require(use_s3, "s3 must be used on production and integration instances. "
                         "It is activated by setting 'ir_attachment.location.' to 's3'.")
    if use_s3:
        _require(os.environ.get('AWS_ACCESS_KEY_ID'), 'AWS_ACCESS_KEY_ID environment variable is required when '
                                                      'ir_attachment.location is s3.')
        _require(os.environ.get('AWS_SECRET_ACCESS_KEY'), 'AWS_SECRET_ACCESS_KEY environment variable is '
                                                          'required when ir_attachment.location is s3.')
        bucket = os.environ.get('AWS_BUCKETNAME', '')
        if env_name in ('prod', 'integration', 'labs'):
            _require(bucket, 'AWS_BUCKETNAME environment variable is required when ir_attachment.location is '
                             's3.\nNormally, an S3 bucket is named <client>-odoo-<env>')
        if not os.environ.get('AWS_BUCKETNAME_UNSTRUCTURED'):
            prod_bucket = bool(re.match(r'[a-z-0-9]+-odoo-prod', bucket))
            if env_name == 'prod':
                _require(prod_bucket, "AWS_BUCKETNAME should match '<client>-odoo-prod', we got: '%s'" % bucket)
            else:
                _require(not prod_bucket, "AWS_BUCKETNAME should not match '<client>-odoo-prod', we got: '%s' "
                                          "(the bucket name must end with -odoo-prod only in prod)" % bucket)
    elif env_name == 'test':
        _require(db.get_param(cr, 'ir_attachment.location') == 'db',
                 "In test instances, files must be stored in the database with 'ir_attachment.location' set "
                 "to 'db'. This is automatically set by the function install().")


def check(cr):
    """Raise CheckFailed with the reason when this instance is misconfigured."""
    if settings.truthy(os.environ.get('ODOO_CLOUD_PLATFORM_UNSAFE')):
        _logger.warning('cloud platform checks disabled, this is not a safe operation')
        return
    kind = db.get_param(cr, 'cloud.platform.kind')
    if not kind:
        _logger.warning("cloud platform not configured, you should probably run "
                        "'env['cloud.platform'].install()'")
        return
    env_name = environment_name()
    if env_name in ('prod', 'integration', 'labs', 'test'):
        _check_redis(env_name)
    if kind == 'exoscale':
        _check_s3(cr, env_name)
    _logger.info('cloud platform checks passed (%s, %s)', kind, env_name)


def install(cr, kind='exoscale'):
    """env['cloud.platform'].install(): kind, attachment location, check, then
    push the attachments already in the database to the object store."""
    env_name = environment_name()
    if env_name not in FILESTORE:
        raise CheckFailed('unknown environment %r: expected one of %s or labs-*' % (
            env_name, ', '.join(sorted(FILESTORE))))
    db.set_param(cr, 'cloud.platform.kind', kind)
    db.set_param(cr, 'ir_attachment.location', FILESTORE[env_name])
    check(cr)
    moved = storage.force_storage(cr)
    _logger.info('cloud platform installed: kind=%s, ir_attachment.location=%s, %d attachment(s) moved',
                 kind, FILESTORE[env_name], moved)
