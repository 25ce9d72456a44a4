"""Attachments the way attachment_s3 stores them: content-addressed by sha1 in
one flat bucket (store_fname = s3://<bucket>/<sha1>), or in the database."""
import hashlib
import logging
import os
import threading

from . import db, settings

_logger = logging.getLogger('odoo.addons.attachment_s3')
_client = None
_client_lock = threading.Lock()
_known_buckets = set()


def s3_client():
    """One boto3 client for the process (clients are thread-safe; making one is slow)."""
    global _client
    with _client_lock:
        if _client is None:
            import boto3
            from botocore.config import Config
            endpoint = settings.env('AWS_HOST') or None
            if endpoint and '://' not in endpoint:
                endpoint = 'https://' + endpoint
            _client = boto3.client(
                's3', endpoint_url=endpoint, region_name=settings.env('AWS_REGION') or None,
                aws_access_key_id=settings.env('AWS_ACCESS_KEY_ID') or None,
                aws_secret_access_key=settings.env('AWS_SECRET_ACCESS_KEY') or None,
                config=Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 3}))
        return _client


def bucket_name():
    return settings.env('AWS_BUCKETNAME').replace('{db}', db.current.name)


def ensure_bucket(client, bucket):
    """Create the bucket when HEAD says 404, as attachment_s3 does."""
    if bucket in _known_buckets:
        return
    from botocore.exceptions import ClientError
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = str(exc.response.get('Error', {}).get('Code'))
        if code not in ('404', 'NoSuchBucket', 'NotFound'):
            raise
        region = settings.env('AWS_REGION')
        if region and region != 'us-east-1':
            client.create_bucket(Bucket=bucket, CreateBucketConfiguration={'LocationConstraint': region})
        else:
            client.create_bucket(Bucket=bucket)
        _logger.info('created bucket %s', bucket)
    _known_buckets.add(bucket)


def location(cr):
    if settings.truthy(os.environ.get('DISABLE_ATTACHMENT_STORAGE')):
        return 'db'
    return db.get_param(cr, 'ir_attachment.location', 'db')


def _put(data, checksum):
    bucket = bucket_name()
    if not bucket:
        raise RuntimeError('ir_attachment.location is s3 but AWS_BUCKETNAME is not set')
    client = s3_client()
    ensure_bucket(client, bucket)
    client.put_object(Bucket=bucket, Key=checksum, Body=data)
    return 's3://%s/%s' % (bucket, checksum)


def store(cr, name, data):
    """Insert an attachment; returns (id, checksum)."""
    checksum = hashlib.sha1(data).hexdigest()
    if location(cr) == 's3':
        fname, datas = _put(data, checksum), None
    else:
        fname, datas = None, data
    cr.execute('INSERT INTO ir_attachment (name, checksum, store_fname, db_datas) VALUES (%s, %s, %s, %s) '
               'RETURNING id', (name, checksum, fname, datas))
    return cr.fetchone()[0], checksum


def read(cr, attachment_id):
    """(name, bytes) or None. An unreadable object gives empty content, like the addon."""
    cr.execute('SELECT name, store_fname, db_datas FROM ir_attachment WHERE id = %s', (attachment_id,))
    row = cr.fetchone()
    if row is None:
        return None
    name, fname, datas = row
    if fname and fname.startswith('s3://'):
        bucket, _, key = fname[len('s3://'):].partition('/')
        try:
            return name, s3_client().get_object(Bucket=bucket, Key=key)['Body'].read()
        except Exception:
            _logger.exception('cannot read %s', fname)
            return name, b''
    return name, bytes(datas or b'')


def force_storage(cr):
    """Move every attachment kept in the database to the object store."""
    if location(cr) != 's3':
        return 0
    cr.execute('SELECT id, checksum, db_datas FROM ir_attachment WHERE store_fname IS NULL AND db_datas IS NOT NULL')
    moved = 0
    for att_id, checksum, datas in cr.fetchall():
        data = bytes(datas)
        fname = _put(data, checksum or hashlib.sha1(data).hexdigest())
        cr.execute('UPDATE ir_attachment SET store_fname = %s, db_datas = NULL WHERE id = %s', (fname, att_id))
        moved += 1
    return moved
