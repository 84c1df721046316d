"""Shared set-up for the nova test harness processes (nova_harness.py,
fake_compute.py).

Everything here uses the nova / oslo libraries installed by Debian's
python3-nova (they import only under /usr/bin/python3).  Nothing reads
outside the given state directory.
"""

import base64
import datetime
import json
import logging
import os
import sys

NOVA_PYTHON = '/usr/bin/python3'


def ensure_nova_python():
    """Re-exec under /usr/bin/python3 when nova cannot be imported here."""
    try:
        import nova  # noqa: F401
        import oslo_messaging  # noqa: F401
    except ImportError:
        if os.path.realpath(sys.executable) != os.path.realpath(NOVA_PYTHON) \
                and os.path.exists(NOVA_PYTHON):
            os.execv(NOVA_PYTHON, [NOVA_PYTHON] + sys.argv)
        raise


def protect_stdout():
    """Return a private text stream on the original stdout and point fd 1 /
    sys.stdout at stderr, so that nothing but the protocol can ever reach the
    protocol stream (libraries that print, warnings, ...)."""
    proto_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(proto_fd, 'w', encoding='utf-8', buffering=1)


def setup_logging(log_file=None, debug=False, stderr_level=logging.WARNING):
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    fmt = logging.Formatter(
        '%(asctime)s %(process)d %(threadName)s %(levelname)s %(name)s: '
        '%(message)s')
    if log_file:
        fh = logging.FileHandler(log_file)
        fh.setFormatter(fmt)
        root.addHandler(fh)
    sh = logging.StreamHandler(sys.stderr)
    sh.setLevel(logging.DEBUG if (debug and not log_file) else stderr_level)
    sh.setFormatter(fmt)
    root.addHandler(sh)
    # Noisy libraries.
    logging.getLogger('amqp').setLevel(logging.ERROR)
    # oslo.messaging 14 warns on every RPCClient() that nova 26 builds itself
    logging.getLogger('oslo_messaging.rpc.client').addFilter(
        lambda r: 'Using RPCClient manually' not in r.getMessage())
    for name in ('kombu', 'oslo.messaging._drivers.impl_rabbit',
                 'oslo_messaging._drivers.amqpdriver', 'stevedore',
                 'oslo_concurrency.lockutils', 'oslo_policy', 'alembic',
                 'sqlalchemy', 'oslo_db'):
        logging.getLogger(name).setLevel(
            logging.INFO if debug else logging.WARNING)


def write_conf(path, sections):
    lines = []
    for section, opts in sections.items():
        lines.append('[%s]' % section)
        for k, v in opts.items():
            if v is None:
                continue
            lines.append('%s = %s' % (k, v))
        lines.append('')
    with open(path, 'w') as f:
        f.write('\n'.join(lines))


def configure_nova(conf_file, prog, with_db):
    """Parse our private config file the way nova.config.parse_args does, but
    without picking up /etc/nova (default_config_files/dirs are empty)."""
    from oslo_log import log as oslo_log
    import nova.conf
    from nova import config as nova_config
    from nova import objects
    from nova import rpc
    from nova import version

    CONF = nova.conf.CONF
    oslo_log.register_options(CONF)
    nova_config.set_lib_defaults()
    CONF([prog, '--config-file', conf_file][1:], project='nova',
         version=version.version_string(), default_config_files=[],
         default_config_dirs=[])
    rpc.init(CONF)
    if with_db:
        from nova.db.api import api as api_db_api
        from nova.db.main import api as main_db_api
        main_db_api.configure(CONF)
        api_db_api.configure(CONF)
    objects.register_all()
    return CONF


# ---------------------------------------------------------------------------
# JSON helpers


def to_jsonable(value):
    """Turn nova objects / datetimes / sets / bytes into plain JSON values."""
    from oslo_versionedobjects import base as ovo_base
    if isinstance(value, ovo_base.VersionedObject):
        return to_jsonable(value.obj_to_primitive())
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(
                tzinfo=None)
        return value.isoformat() + 'Z'
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        try:
            return value.decode('utf-8')
        except UnicodeDecodeError:
            return base64.b64encode(value).decode('ascii')
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def error_to_json(exc):
    """{"class", "module", "message"} for an exception, with oslo.messaging's
    remote-exception wrapping undone."""
    import oslo_messaging
    cls = type(exc)
    name = cls.__name__
    module = cls.__module__
    remote = False
    suffix = '_Remote'
    if name.endswith(suffix):
        name = name[:-len(suffix)]
        remote = True
    if module.endswith(suffix):
        module = module[:-len(suffix)]
        remote = True
    out = {'class': name, 'module': module}
    if isinstance(exc, oslo_messaging.RemoteError):
        out['class'] = exc.exc_type or name
        out['module'] = module  # oslo_messaging.rpc.client
        out['remote_error'] = True
        out['message'] = str(exc.value) if exc.value is not None else ''
        return out
    message = None
    if hasattr(exc, 'format_message'):
        try:
            message = exc.format_message()
        except Exception:
            message = None
    if message is None:
        if remote and exc.args:
            message = str(exc.args[0])
        else:
            message = str(exc)
    marker = '\nTraceback (most recent call last)'
    if marker in message:
        # oslo appends the remote traceback to re-raised exceptions (for
        # builtins it cannot rename the class to *_Remote); keep only the
        # original message.
        message = message.split(marker)[0]
        remote = True
    if remote:
        out['remote'] = True
    out['message'] = message
    kwargs = getattr(exc, 'kwargs', None)
    if isinstance(kwargs, dict) and kwargs:
        out['kwargs'] = to_jsonable(kwargs)
    return out


def dumps(obj):
    return json.dumps(obj, separators=(',', ':'), sort_keys=False)
