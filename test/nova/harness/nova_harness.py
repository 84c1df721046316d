#!/usr/bin/python3
"""Nova harness: plays nova-api and nova-conductor for one compute host.

Run with Debian's interpreter (python3-nova only imports there):

  /usr/bin/python3 test/nova/harness/nova_harness.py \
      --transport-url rabbit://guest:guest@127.0.0.1:5672/<vhost> \
      --state-dir <dir> --compute-host <host>

It serves a conductor (topic ``conductor``) built from nova's own
ConductorManager against sqlite databases in --state-dir, prints
``{"ready": true}`` on stdout, then answers JSON commands read one per line on
stdin with one JSON line each on stdout.  See README.md for the protocol.
Logging goes to <state-dir>/harness.log (warnings also to stderr).
"""

import argparse
import base64
import datetime
import hashlib
import json
import logging
import os
import queue
import signal
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import novaenv  # noqa: E402

novaenv.ensure_nova_python()

LOG = logging.getLogger('nova_harness')

USER_ID = 'a0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5'
PROJECT_ID = 'f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0'
USER_NAME = 'harness-user'
PROJECT_NAME = 'harness-project'
AUTH_TOKEN = 'harness-token-not-a-real-keystone-token'
CELL_NAME = 'cell1'
CELL_UUID = '7f0e8d9c-1b2a-4c3d-8e4f-5a6b7c8d9e0f'
DEFAULT_IMAGE_CREATED = datetime.datetime(2024, 1, 1, 0, 0, 0)


class BadRequest(Exception):
    """Invalid command input."""


class Timeout(Exception):
    """wait did not see the requested state in time."""


BadRequest.__module__ = 'harness'
Timeout.__module__ = 'harness'


# ---------------------------------------------------------------------------
# argument validation helpers

_MISSING = object()


def _arg(args, key, types, default=_MISSING, nullable=False):
    if key not in args:
        if default is _MISSING:
            raise BadRequest('missing argument %r' % key)
        return default
    value = args[key]
    if value is None:
        if nullable:
            return None
        raise BadRequest('argument %r must not be null' % key)
    if types is int and isinstance(value, bool):
        raise BadRequest('argument %r must be an integer' % key)
    if not isinstance(value, types):
        tn = types.__name__ if isinstance(types, type) else \
            '/'.join(t.__name__ for t in types)
        raise BadRequest('argument %r must be of type %s' % (key, tn))
    return value


def _uuid_arg(args, key='uuid'):
    from oslo_utils import uuidutils
    value = _arg(args, key, str)
    if not uuidutils.is_uuid_like(value):
        raise BadRequest('argument %r is not a uuid: %r' % (key, value))
    return value


def _nonneg(args, key, default=_MISSING):
    value = _arg(args, key, int, default)
    if value < 0:
        raise BadRequest('argument %r must be >= 0' % key)
    return value


# ---------------------------------------------------------------------------
# sqlite under concurrent conductor threads


def serialize_sqlite_transactions():
    """Make every transaction on nova's two sqlite engines hold sqlite's
    write lock from its start (BEGIN IMMEDIATE).

    oslo.db emits a plain (deferred) BEGIN for sqlite.  With several conductor
    worker threads, two deferred transactions that both read and then write
    dead-lock on the lock upgrade and sqlite fails one of them at once with
    "database is locked" (the busy timeout does not apply to that case).
    Taking the write lock at BEGIN makes transactions queue on the busy
    timeout instead.  Our "begin" listener runs after oslo.db's (which has
    just emitted the deferred BEGIN, nothing executed yet): end that empty
    transaction and open an immediate one; oslo.db's commit/rollback
    listeners end it as usual."""
    import sqlalchemy
    from nova.db.api import api as api_db_api
    from nova.db.main import api as main_db_api

    def begin_immediate(conn):
        conn.exec_driver_sql('ROLLBACK')
        conn.exec_driver_sql('BEGIN IMMEDIATE')

    for engine in (main_db_api.get_engine(), api_db_api.get_engine()):
        if engine.dialect.name == 'sqlite':
            sqlalchemy.event.listen(engine, 'begin', begin_immediate)


# ---------------------------------------------------------------------------
# conductor side


def build_conductor(server_name, recorder, on_active):
    import oslo_messaging as messaging
    from oslo_messaging.rpc import dispatcher
    from nova import baserpc
    from nova.conductor import manager as conductor_manager
    from nova import manager as nova_manager
    from nova.objects import base as objects_base
    from nova import rpc

    class HarnessConductorManager(conductor_manager.ConductorManager):
        """nova's ConductorManager without its ComputeTaskManager (whose
        placement/scheduler clients need keystone)."""

        def __init__(self):
            nova_manager.Manager.__init__(self, service_name='conductor')

        def object_action(self, context, objinst, objmethod, args, kwargs):
            # the benchmark's stop watch: when the save that makes an instance active arrives
            if (objmethod == 'save' and objinst.obj_name() == 'Instance'
                    and 'vm_state' in objinst.obj_what_changed()
                    and objinst.vm_state == 'active'):
                on_active(objinst.uuid)
            return super().object_action(context, objinst, objmethod,
                                         args, kwargs)

    manager = HarnessConductorManager()
    endpoints = [manager, baserpc.BaseRPCAPI('conductor', None), recorder]
    target = messaging.Target(topic='conductor', server=server_name)
    serializer = rpc.RequestContextSerializer(
        objects_base.NovaObjectSerializer())
    return messaging.get_rpc_server(
        rpc.TRANSPORT, target, endpoints, executor='threading',
        serializer=serializer,
        access_policy=dispatcher.DefaultRPCAccessPolicy)


class BuildTimes(object):
    """Monotonic times of each build cast and of the first active save that
    follows it (CLOCK_MONOTONIC: one clock for this process and the conductor
    workers). Waiters block on a condition rather than poll, so that measuring
    a build takes no CPU from the conductor that serves it."""

    def __init__(self):
        self._cond = threading.Condition()
        self._cast = {}
        self._active = {}

    def cast(self, uuid):
        with self._cond:
            self._cast[uuid] = time.monotonic()
            self._active.pop(uuid, None)

    def saw_active(self, uuid, at=None):
        """`at`: a time.monotonic() reading from a conductor worker process
        (CLOCK_MONOTONIC is one clock for every process on the host)."""
        with self._cond:
            if uuid in self._cast and uuid not in self._active:
                self._active[uuid] = time.monotonic() if at is None else at
                self._cond.notify_all()

    def wait(self, uuids, timeout):
        """Blocks until every build in `uuids` saw its active save; returns
        each one's ms from cast to active save and the span from the first
        cast to the last active save.  Timeout names the builds still out."""
        with self._cond:
            unknown = [u for u in uuids if u not in self._cast]
            if unknown:
                raise BadRequest('no build was cast for %s' % ', '.join(unknown))
            done = self._cond.wait_for(
                lambda: all(u in self._active for u in uuids), timeout)
            if not done:
                raise Timeout('not active after %ss: %s' % (timeout, ', '.join(
                    u for u in uuids if u not in self._active)))
            return {
                'ms': {u: (self._active[u] - self._cast[u]) * 1000.0
                       for u in uuids},
                'span_ms': (max(self._active[u] for u in uuids) -
                            min(self._cast[u] for u in uuids)) * 1000.0,
            }


BUILD_TIMES = BuildTimes()


class ComputeTaskRecorder(object):
    """Endpoint for namespace compute_task 1.24: records every call
    (build_instances = reschedule request from a compute host)."""

    def __init__(self, sink=None):
        """`sink`: where a conductor worker process sends each record (to
        the harness, which keeps them); None keeps them here."""
        import oslo_messaging as messaging
        self.target = messaging.Target(namespace='compute_task',
                                       version='1.24')
        self._lock = threading.Lock()
        self._records = []
        self._sink = sink

    def __getattr__(self, name):
        if name.startswith(('_', 'oslo_')) or name == 'target':
            raise AttributeError(name)

        def record(context, **kwargs):
            self._record(context, name, kwargs)
            return None
        record.__name__ = name
        return record

    def _record(self, context, method, kwargs):
        uuids = []
        for inst in kwargs.get('instances') or []:
            uuids.append(getattr(inst, 'uuid', None) if not isinstance(
                inst, dict) else inst.get('uuid'))
        inst = kwargs.get('instance')
        if inst is not None:
            uuids.append(getattr(inst, 'uuid', None))
        entry = {
            'method': method,
            'instance_uuids': uuids,
            'request_id': getattr(context, 'request_id', None),
            'arg_names': sorted(kwargs.keys()),
            'time': time.time(),
        }
        if isinstance(kwargs.get('filter_properties'), dict):
            entry['filter_properties'] = novaenv.to_jsonable(
                kwargs['filter_properties'])
        LOG.info('compute_task %s recorded for %s', method, uuids)
        if self._sink is not None:
            self._sink(entry)
        else:
            self.add(entry)

    def add(self, entry):
        with self._lock:
            self._records.append(entry)

    def records(self):
        with self._lock:
            return list(self._records)


class ConductorWorkers(object):
    """nova-conductor's `[conductor] workers`: processes that each serve the
    conductor topic, so RabbitMQ hands each message to one of them and the
    conductor's Python work runs on several CPUs, as nova-conductor does in
    production (one worker per CPU by default).  Each worker is this script
    with --serve-conductor; it reports active saves and compute_task records
    as JSON lines on its stdout, and ends when its stdin closes."""

    def __init__(self, count, opts, conf_file, recorder):
        self.count = count
        self.opts = opts
        self.conf_file = conf_file
        self.recorder = recorder
        self.procs = []

    def start(self):
        import subprocess
        o = self.opts
        for i in range(self.count):
            log_file = os.path.join(o.state_dir, 'conductor-%d.log' % i)
            proc = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__),
                 '--serve-conductor', self.conf_file,
                 '--transport-url', o.transport_url,
                 '--state-dir', o.state_dir,
                 '--compute-host', o.compute_host,
                 '--conductor-name', o.conductor_name,
                 '--log-file', log_file],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                encoding='utf-8', close_fds=True)
            self.procs.append(proc)
        for proc in self.procs:
            first = proc.stdout.readline()
            try:
                ready = json.loads(first).get('ready') is True
            except ValueError:
                ready = False
            if not ready:
                raise RuntimeError('conductor worker %d did not start: %r'
                                   % (proc.pid, first))
            threading.Thread(target=self._follow, args=(proc,),
                             name='conductor-%d' % proc.pid,
                             daemon=True).start()

    def pids(self):
        return [p.pid for p in self.procs]

    def _follow(self, proc):
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                LOG.warning('conductor worker %d wrote %r', proc.pid, line)
                continue
            if 'active' in msg:
                BUILD_TIMES.saw_active(msg['active'], msg['at'])
            elif 'record' in msg:
                self.recorder.add(msg['record'])

    def stop(self, timeout=5.0):
        for proc in self.procs:
            try:
                proc.stdin.close()
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except Exception:
                LOG.warning('conductor worker %d did not stop; killing it',
                            proc.pid)
                proc.kill()
                proc.wait()
        self.procs = []


def serve_conductor(opts, out):
    """A conductor worker's life (see ConductorWorkers)."""
    novaenv.configure_nova(opts.serve_conductor, 'nova-harness-conductor',
                           with_db=True)
    serialize_sqlite_transactions()
    out_lock = threading.Lock()

    def send(obj):
        with out_lock:
            out.write(novaenv.dumps(obj) + '\n')
            out.flush()

    recorder = ComputeTaskRecorder(sink=lambda entry: send({'record': entry}))
    server = build_conductor(
        opts.conductor_name, recorder,
        lambda uuid: send({'active': uuid, 'at': time.monotonic()}))
    server.start()
    send({'ready': True, 'pid': os.getpid()})
    try:
        sys.stdin.read()  # until the harness closes our stdin or exits
    except (_Terminate, KeyboardInterrupt):
        pass
    if not stop_rpc_server(server):
        LOG.warning('conductor worker did not stop within 5s')
    return 0


def stop_rpc_server(server, timeout=5):
    """Stops an oslo RPC server and waits up to `timeout` seconds for the
    requests it is serving; False when they did not end in time."""
    server.stop()
    waiter = threading.Thread(target=server.wait, daemon=True)
    waiter.start()
    waiter.join(timeout)
    return not waiter.is_alive()


# ---------------------------------------------------------------------------
# the "nova-api" side


class Api(object):
    """The DB work nova-api (and conductor's schedule_and_build_instances)
    does before each compute cast, done with nova's objects, then the cast
    with nova's ComputeAPI."""

    def __init__(self, conf, compute_host, recorder):
        from nova.compute import rpcapi as compute_rpcapi
        from nova import servicegroup
        self.conf = conf
        self.host = compute_host
        self.recorder = recorder
        self.compute_rpcapi = compute_rpcapi.ComputeAPI()
        self.servicegroup_api = servicegroup.API()
        self.cell = None

    # -- contexts ---------------------------------------------------------

    @staticmethod
    def user_ctx(read_deleted='no'):
        from nova import context as nova_context
        return nova_context.RequestContext(
            user_id=USER_ID, project_id=PROJECT_ID, user_name=USER_NAME,
            project_name=PROJECT_NAME, roles=['reader', 'member'],
            is_admin=False, auth_token=AUTH_TOKEN,
            remote_address='127.0.0.1', read_deleted=read_deleted)

    @staticmethod
    def admin_ctx(read_deleted='no'):
        from nova import context as nova_context
        return nova_context.get_admin_context(read_deleted=read_deleted)

    # -- start-up -----------------------------------------------------------

    def ensure_mappings(self):
        """CellMapping for our (single) cell database and the HostMapping of
        the compute host, as `nova-manage cell_v2 map_cell0/create_cell` and
        `discover_hosts` would create them."""
        from nova import exception
        from nova import objects
        ctxt = self.admin_ctx()
        try:
            cell = objects.CellMapping.get_by_uuid(ctxt, CELL_UUID)
        except exception.CellMappingNotFound:
            cell = objects.CellMapping(
                ctxt, uuid=CELL_UUID, name=CELL_NAME,
                transport_url=self.conf.transport_url,
                database_connection=self.conf.database.connection,
                disabled=False)
            cell.create()
        self.cell = cell
        try:
            objects.HostMapping.get_by_host(ctxt, self.host)
        except exception.HostMappingNotFound:
            objects.HostMapping(ctxt, host=self.host,
                                cell_mapping=cell).create()

    # -- helpers -----------------------------------------------------------

    def _load(self, ctxt, uuid, attrs):
        from nova import objects
        return objects.Instance.get_by_uuid(ctxt, uuid,
                                            expected_attrs=list(attrs))

    @staticmethod
    def _record_action_start(ctxt, instance, action):
        from nova import objects
        objects.InstanceAction.action_start(ctxt, instance.uuid, action,
                                            want_result=False)

    @staticmethod
    def _update_queued_for_deletion(ctxt, uuid, qfd):
        from nova import exception
        from nova import objects
        try:
            im = objects.InstanceMapping.get_by_instance_uuid(ctxt, uuid)
        except exception.InstanceMappingNotFound:
            return
        im.queued_for_delete = qfd
        im.save()

    # -- commands ----------------------------------------------------------

    def cmd_create_flavor(self, args):
        from oslo_utils import uuidutils
        from nova import objects
        name = _arg(args, 'name', str)
        if not name.strip():
            raise BadRequest('argument name must not be empty')
        vcpus = _arg(args, 'vcpus', int)
        if vcpus < 1:
            raise BadRequest('argument vcpus must be >= 1')
        memory_mb = _arg(args, 'memory_mb', int)
        if memory_mb < 1:
            raise BadRequest('argument memory_mb must be >= 1')
        root_gb = _nonneg(args, 'root_gb')
        ephemeral_gb = _nonneg(args, 'ephemeral_gb', 0)
        swap = _nonneg(args, 'swap', 0)
        extra_specs = _arg(args, 'extra_specs', dict, {})
        for k, v in extra_specs.items():
            if not isinstance(v, str):
                raise BadRequest('extra_specs values must be strings (%s)' % k)
        flavorid = _arg(args, 'flavorid', str, None, nullable=True) or \
            uuidutils.generate_uuid()
        ctxt = self.admin_ctx()
        flavor = objects.Flavor(
            context=ctxt, name=name, flavorid=flavorid, vcpus=vcpus,
            memory_mb=memory_mb, root_gb=root_gb, ephemeral_gb=ephemeral_gb,
            swap=swap, rxtx_factor=1.0, vcpu_weight=0, is_public=True,
            disabled=False, extra_specs=dict(extra_specs))
        flavor.create()
        return {'flavorid': flavor.flavorid, 'id': flavor.id}

    def _image_dict(self, image_ref, overrides):
        """An image dict shaped like nova.image.glance's translation of a
        glance v2 image."""
        image = {
            'id': image_ref,
            'name': 'harness-image',
            'status': 'active',
            'container_format': 'bare',
            'disk_format': 'raw',
            'size': 104857600,
            'checksum': hashlib.md5(image_ref.encode('utf-8')).hexdigest(),
            'owner': PROJECT_ID,
            'min_disk': 0,
            'min_ram': 0,
            'is_public': True,
            'os_hidden': False,
            'os_hash_algo': 'sha512',
            'os_hash_value': hashlib.sha512(
                image_ref.encode('utf-8')).hexdigest(),
            'created_at': DEFAULT_IMAGE_CREATED,
            'updated_at': DEFAULT_IMAGE_CREATED,
            'deleted': False,
            'deleted_at': None,
            'properties': {},
        }
        for key, value in overrides.items():
            if key == 'properties':
                if not isinstance(value, dict):
                    raise BadRequest('image.properties must be an object')
                image['properties'].update(value)
            elif key == 'id':
                raise BadRequest('use image_ref, not image.id')
            else:
                image[key] = value
        return image

    def cmd_boot(self, args):
        boot = self._new_boot(args)
        self._create_in_cell(boot)
        return self._cast_build(boot)

    def cmd_boot_many(self, args):
        """`count` instances of one request, as nova builds `server create
        --min-count N`: nova-api prepares them all, then the conductor's
        schedule_and_build_instances creates every instance first and only
        then, one instance after the other, records the action, the block
        device mappings and the cell mapping and casts its build."""
        count = _arg(args, 'count', int)
        if not 1 <= count <= 100:
            raise BadRequest('count must be between 1 and 100')
        name = _arg(args, 'name', str)
        boots = [self._new_boot(dict(args, name='%s-%d' % (name, i)))
                 for i in range(count)]
        for boot in boots:
            self._create_in_cell(boot)
        return [self._cast_build(boot) for boot in boots]

    def _new_boot(self, args):
        """nova-api's part of a boot: validates `args` and creates the
        RequestSpec and the InstanceMapping; returns what the conductor's part
        needs."""
        from oslo_utils import strutils
        from oslo_utils import uuidutils
        from nova import block_device
        from nova.compute import power_state
        from nova.compute import task_states
        from nova.compute import vm_states
        from nova.network import model as network_model
        from nova.network import security_group_api
        from nova import objects
        from nova.objects import block_device as block_device_obj
        from nova import utils

        name = _arg(args, 'name', str)
        flavor_name = _arg(args, 'flavor', str)
        image_ref = _arg(args, 'image_ref', str)
        image_over = _arg(args, 'image', dict, {})
        user_data = _arg(args, 'user_data', str, None, nullable=True)
        metadata = _arg(args, 'metadata', dict, {})
        for k, v in metadata.items():
            if not isinstance(v, str):
                raise BadRequest('metadata values must be strings (%s)' % k)
        files = _arg(args, 'injected_files', list, [])
        injected_files = []
        for item in files:
            if (not isinstance(item, (list, tuple)) or len(item) != 2 or
                    not all(isinstance(x, str) for x in item)):
                raise BadRequest('injected_files items must be [path, text]')
            injected_files.append(
                [item[0], base64.b64encode(item[1].encode('utf-8'))
                 .decode('ascii')])
        config_drive = _arg(args, 'config_drive', bool, False)
        if 'admin_password' in args:
            admin_password = _arg(args, 'admin_password', str, None,
                                  nullable=True)
        else:
            admin_password = utils.generate_password()
        retry = _arg(args, 'retry', bool, False)
        if not image_ref:
            raise BadRequest('image_ref must not be empty')

        ctxt = self.user_ctx()
        flavor = objects.Flavor.get_by_name(ctxt, flavor_name)
        image = self._image_dict(image_ref, image_over)
        instance_uuid = uuidutils.generate_uuid()

        # --- nova-api: _validate_and_build_base_options / _provision_instances
        security_groups = security_group_api.populate_security_groups(
            ['default'])
        pci_requests = objects.InstancePCIRequests(requests=[])
        requested_networks = objects.NetworkRequestList(
            objects=[objects.NetworkRequest(network_id='none')])
        image_props = image.get('properties', {})
        auto_disk_config = utils.get_auto_disk_config_from_image_props(
            image_props)
        base_options = {
            'reservation_id': utils.generate_uid('r'),
            'image_ref': image_ref,
            'kernel_id': '',
            'ramdisk_id': '',
            'power_state': power_state.NOSTATE,
            'vm_state': vm_states.BUILDING,
            'config_drive': 'True' if config_drive else '',
            'user_id': ctxt.user_id,
            'project_id': ctxt.project_id,
            'instance_type_id': flavor.id,
            'memory_mb': flavor.memory_mb,
            'vcpus': flavor.vcpus,
            'root_gb': flavor.root_gb,
            'ephemeral_gb': flavor.ephemeral_gb,
            'display_name': name,
            'display_description': name,
            'hostname': None,
            'user_data': (base64.b64encode(user_data.encode('utf-8'))
                          .decode('ascii') if user_data is not None else None),
            'key_name': None,
            'key_data': None,
            'locked': False,
            'metadata': dict(metadata),
            'access_ip_v4': None,
            'access_ip_v6': None,
            'availability_zone': None,
            'root_device_name': None,
            'progress': 0,
            'pci_requests': pci_requests,
            'numa_topology': None,
            'system_metadata': {},
            'os_type': image_props.get('os_type'),
            'architecture': image_props.get('architecture'),
            'vm_mode': image_props.get('vm_mode'),
            'auto_disk_config': strutils.bool_from_string(auto_disk_config),
        }

        req_spec = objects.RequestSpec.from_components(
            ctxt, instance_uuid, image, flavor, None, pci_requests, {},
            None, None, security_groups=security_groups,
            port_resource_requests=None,
            request_level_params=objects.RequestLevelParams())
        req_spec.is_bfv = False
        req_spec.num_instances = 1
        req_spec.create()

        instance = objects.Instance(context=ctxt)
        instance.uuid = instance_uuid
        instance.update(base_options)
        instance.keypairs = objects.KeyPairList(objects=[])
        instance.trusted_certs = None
        # _populate_instance_for_create
        instance.launch_index = 0
        instance.vm_state = vm_states.BUILDING
        instance.task_state = task_states.SCHEDULING
        info_cache = objects.InstanceInfoCache()
        info_cache.instance_uuid = instance.uuid
        info_cache.network_info = network_model.NetworkInfo()
        instance.info_cache = info_cache
        instance.flavor = flavor
        instance.old_flavor = None
        instance.new_flavor = None
        instance.ephemeral_key_uuid = None
        system_meta = utils.get_system_metadata_from_image(image, flavor)
        system_meta.setdefault('image_base_image_ref', instance.image_ref)
        system_meta['owner_user_name'] = ctxt.user_name
        system_meta['owner_project_name'] = ctxt.project_name
        instance.system_metadata = {k: str(v) for k, v in system_meta.items()}
        instance.security_groups = objects.SecurityGroupList()
        hostname = utils.sanitize_hostname(instance.display_name)
        instance.hostname = hostname or 'Server-%s' % instance.uuid
        instance.shutdown_terminate = False

        # block device mappings: the image BDM plus flavor ephemeral/swap
        bdm_dicts = [block_device.create_image_bdm(image_ref)]
        if flavor.ephemeral_gb:
            bdm_dicts.append(block_device.create_blank_bdm(
                flavor.ephemeral_gb))
        if flavor.swap:
            bdm_dicts.append(block_device.create_blank_bdm(flavor.swap,
                                                           'swap'))
        bdms = block_device_obj.block_device_make_list_from_dicts(
            ctxt, bdm_dicts)

        im = objects.InstanceMapping(context=ctxt)
        im.instance_uuid = instance_uuid
        im.project_id = ctxt.project_id
        im.user_id = ctxt.user_id
        im.cell_mapping = None
        im.create()
        return {'ctxt': ctxt, 'instance': instance, 'image': image,
                'flavor': flavor, 'req_spec': req_spec, 'bdms': bdms,
                'im': im, 'requested_networks': requested_networks,
                'retry': retry, 'admin_password': admin_password,
                'injected_files': injected_files}

    # --- conductor: schedule_and_build_instances (host chosen = ours)

    def _create_in_cell(self, boot):
        from nova import availability_zones
        instance = boot['instance']
        instance.availability_zone = \
            availability_zones.get_host_availability_zone(boot['ctxt'],
                                                          self.host)
        instance.create()

    def _cast_build(self, boot):
        from nova.compute import instance_actions
        from nova.conductor import manager as conductor_manager
        from nova import objects
        ctxt, instance, flavor = boot['ctxt'], boot['instance'], boot['flavor']
        req_spec, bdms, im = boot['req_spec'], boot['bdms'], boot['im']
        requested_networks = boot['requested_networks']
        objects.InstanceAction.action_start(
            ctxt, instance.uuid, instance_actions.CREATE, want_result=False)
        for bdm in bdms:
            bdm.volume_size = \
                conductor_manager.ComputeTaskManager._volume_size(flavor, bdm)
            bdm.instance_uuid = instance.uuid
            bdm.update_or_create()
        instance.tags = objects.TagList()
        im.cell_mapping = self.cell
        im.save()

        req_spec.requested_networks = requested_networks
        filter_props = {'limits': {}}
        if boot['retry']:
            filter_props['retry'] = {'num_attempts': 1,
                                     'hosts': [[self.host, self.host]]}
        legacy_secgroups = [s.identifier for s in
                            req_spec.security_groups]
        BUILD_TIMES.cast(instance.uuid)
        self.compute_rpcapi.build_and_run_instance(
            ctxt, instance=instance, host=self.host, image=boot['image'],
            request_spec=req_spec, filter_properties=filter_props,
            admin_password=boot['admin_password'],
            injected_files=boot['injected_files'],
            requested_networks=requested_networks,
            security_groups=legacy_secgroups, block_device_mapping=bdms,
            node=self.host, limits={}, host_list=[], accel_uuids=[])
        return {'uuid': instance.uuid, 'name': instance.name,
                'id': instance.id, 'request_id': ctxt.request_id}

    # -- instance actions (nova.compute.api.API equivalents) ---------------

    def _action(self, args, attrs, fn, *extra):
        uuid = _uuid_arg(args)
        ctxt = self.user_ctx()
        instance = self._load(ctxt, uuid, attrs)
        result = fn(self, ctxt, instance, *extra) or {}
        result['request_id'] = ctxt.request_id
        return result

    def cmd_stop(self, args):
        return self._action(args, _ATTRS_SERVERS_GET, _ops()['stop'])

    def cmd_start(self, args):
        return self._action(args, _ATTRS_SERVERS_GET, _ops()['start'])

    def cmd_reboot(self, args):
        reboot_type = _arg(args, 'type', str, 'SOFT').upper()
        if reboot_type not in ('SOFT', 'HARD'):
            raise BadRequest('reboot type must be SOFT or HARD')
        return self._action(args, _ATTRS_GET_SERVER,
                            _ops()['reboot'], reboot_type)

    def cmd_pause(self, args):
        return self._action(args, _ATTRS_COMMON, _ops()['pause'])

    def cmd_unpause(self, args):
        return self._action(args, _ATTRS_COMMON, _ops()['unpause'])

    def cmd_suspend(self, args):
        return self._action(args, _ATTRS_COMMON, _ops()['suspend'])

    def cmd_resume(self, args):
        return self._action(args, _ATTRS_COMMON, _ops()['resume'])

    def cmd_terminate(self, args):
        force_cast = _arg(args, 'force_cast', bool, False)
        return self._action(args, _ATTRS_GET_SERVER, _ops()['delete'],
                            force_cast)

    # -- reads -------------------------------------------------------------

    def _instance_state(self, instance):
        return {
            'uuid': instance.uuid,
            'name': instance.name,
            'vm_state': instance.vm_state,
            'task_state': instance.task_state,
            'power_state': instance.power_state,
            'host': instance.host,
            'node': instance.node,
            'launched_on': instance.launched_on,
            'launched_at': novaenv.to_jsonable(instance.launched_at),
            'terminated_at': novaenv.to_jsonable(instance.terminated_at),
            'deleted': bool(instance.deleted),
        }

    def _get(self, uuid):
        from nova import objects
        ctxt = self.admin_ctx(read_deleted='yes')
        instance = objects.Instance.get_by_uuid(ctxt, uuid,
                                                expected_attrs=[])
        out = self._instance_state(instance)
        events = []
        actions = objects.InstanceActionList.get_by_instance_uuid(ctxt, uuid)
        for action in sorted(actions, key=lambda a: a.id):
            evs = objects.InstanceActionEventList.get_by_action(ctxt,
                                                                action.id)
            for ev in sorted(evs, key=lambda e: e.id):
                events.append({
                    'action': action.action,
                    'request_id': action.request_id,
                    'event': ev.event,
                    'result': ev.result,
                    'host': ev.host,
                    'start_time': novaenv.to_jsonable(ev.start_time),
                    'finish_time': novaenv.to_jsonable(ev.finish_time),
                    'started': ev.start_time is not None,
                    'finished': ev.finish_time is not None,
                    'traceback': ev.traceback,
                })
        out['actions'] = [{
            'action': a.action, 'request_id': a.request_id,
            'start_time': novaenv.to_jsonable(a.start_time),
            'finish_time': novaenv.to_jsonable(a.finish_time),
            'message': a.message,
        } for a in sorted(actions, key=lambda a: a.id)]
        out['events'] = events
        faults = objects.InstanceFaultList.get_by_instance_uuids(ctxt, [uuid])
        out['faults'] = [{
            'code': f.code, 'message': f.message, 'host': f.host,
            'details': f.details,
            'created_at': novaenv.to_jsonable(f.created_at),
        } for f in sorted(faults, key=lambda f: f.id)]
        return out

    def cmd_get(self, args):
        return self._get(_uuid_arg(args))

    def cmd_wait(self, args):
        from nova import objects
        uuid = _uuid_arg(args)
        want = {}
        if 'vm_state' in args:
            want['vm_state'] = _arg(args, 'vm_state', str, nullable=True)
        if 'task_state' in args:
            want['task_state'] = _arg(args, 'task_state', str, nullable=True)
        if 'power_state' in args:
            want['power_state'] = _arg(args, 'power_state', int,
                                       nullable=True)
        if 'deleted' in args:
            want['deleted'] = _arg(args, 'deleted', bool)
        timeout = _arg(args, 'timeout', (int, float), 20)
        if timeout < 0:
            raise BadRequest('timeout must be >= 0')
        ctxt = self.admin_ctx(read_deleted='yes')
        deadline = time.monotonic() + timeout
        last = None
        while True:
            instance = objects.Instance.get_by_uuid(ctxt, uuid,
                                                    expected_attrs=[])
            last = self._instance_state(instance)
            if all(last[k] == v for k, v in want.items()):
                return self._get(uuid)
            if time.monotonic() >= deadline:
                raise Timeout('instance %s did not reach %s within %ss; last '
                              'seen %s' % (uuid, json.dumps(want), timeout,
                                           json.dumps(last)))
            time.sleep(0.02)

    # -- calls to the compute host ---------------------------------------

    def cmd_console_output(self, args):
        from nova.compute import api as compute_api
        uuid = _uuid_arg(args)
        tail_length = _arg(args, 'tail_length', int, None, nullable=True)
        ctxt = self.user_ctx()
        instance = self._load(ctxt, uuid, _ATTRS_COMMON)

        @compute_api.check_instance_host()
        def get_console_output(self_, context, instance, tail_length=None):
            return self.compute_rpcapi.get_console_output(
                context, instance=instance, tail_length=tail_length)
        return get_console_output(self, ctxt, instance,
                                  tail_length=tail_length)

    def cmd_host_uptime(self, args):
        ctxt = self.admin_ctx()
        return self.compute_rpcapi.get_host_uptime(ctxt, host=self.host)

    def cmd_diagnostics(self, args):
        from nova.compute import api as compute_api
        uuid = _uuid_arg(args)
        ctxt = self.user_ctx()
        instance = self._load(ctxt, uuid, _ATTRS_COMMON)
        actx = ctxt.elevated()

        @compute_api.check_instance_host()
        def get_instance_diagnostics(self_, context, instance):
            return self.compute_rpcapi.get_instance_diagnostics(
                context, instance=instance)
        result = get_instance_diagnostics(self, actx, instance)
        return novaenv.to_jsonable(result)

    def cmd_external_event(self, args):
        from nova.compute import instance_actions
        from nova import objects
        from nova.objects import external_event as external_event_obj
        uuid = _uuid_arg(args)
        name = _arg(args, 'name', str)
        if name not in external_event_obj.EVENT_NAMES:
            raise BadRequest('event name must be one of %s' %
                             ', '.join(external_event_obj.EVENT_NAMES))
        status = _arg(args, 'status', str, 'completed')
        if status not in external_event_obj.EVENT_STATUSES:
            raise BadRequest('event status must be one of %s' %
                             ', '.join(external_event_obj.EVENT_STATUSES))
        tag = _arg(args, 'tag', str, None, nullable=True)
        data = _arg(args, 'data', dict, {})
        ctxt = self.admin_ctx()
        instance = self._load(ctxt, uuid, ['migration_context', 'info_cache'])
        if not instance.host:
            raise BadRequest('instance %s has no host yet' % uuid)
        event = objects.InstanceExternalEvent(ctxt)
        event.instance_uuid = uuid
        event.name = name
        event.status = status
        event.tag = tag
        event.data = {str(k): str(v) for k, v in data.items()}
        if name == 'volume-extended':
            objects.InstanceAction.action_start(
                ctxt, uuid, instance_actions.EXTEND_VOLUME, want_result=False)
        elif name == 'power-update':
            if tag == external_event_obj.POWER_ON:
                objects.InstanceAction.action_start(
                    ctxt, uuid, instance_actions.START, want_result=False)
            elif tag == external_event_obj.POWER_OFF:
                objects.InstanceAction.action_start(
                    ctxt, uuid, instance_actions.STOP, want_result=False)
            else:
                raise BadRequest('power-update tag must be POWER_ON or '
                                 'POWER_OFF')
        self.compute_rpcapi.external_instance_event(
            ctxt, [instance], [event], host=instance.host)
        return {'request_id': ctxt.request_id}

    def _resolve_call_args(self, value, ctxt):
        """{"$instance": uuid} anywhere in call args -> Instance object."""
        if isinstance(value, dict):
            if set(value.keys()) == {'$instance'}:
                uuid = value['$instance']
                if not isinstance(uuid, str):
                    raise BadRequest('$instance needs a uuid string')
                return self._load(ctxt, uuid, _ATTRS_COMMON)
            return {k: self._resolve_call_args(v, ctxt)
                    for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve_call_args(v, ctxt) for v in value]
        return value

    def cmd_call(self, args):
        import oslo_messaging as messaging
        from nova.objects import base as objects_base
        from nova import rpc
        method = _arg(args, 'method', str)
        call_args = _arg(args, 'args', dict, {})
        version = _arg(args, 'version', str, '6.0')
        namespace = _arg(args, 'namespace', str, None, nullable=True)
        timeout = _arg(args, 'timeout', (int, float), None, nullable=True)
        cast = _arg(args, 'cast', bool, False)
        admin = _arg(args, 'admin', bool, False)
        ctxt = self.admin_ctx() if admin else self.user_ctx()
        kwargs = self._resolve_call_args(call_args, ctxt)
        target = messaging.Target(topic='compute', server=self.host,
                                  version=version, namespace=namespace)
        client = rpc.get_client(target,
                                serializer=objects_base.NovaObjectSerializer())
        cctxt = client.prepare(timeout=timeout) if timeout else client
        if cast:
            cctxt.cast(ctxt, method, **kwargs)
            return {'request_id': ctxt.request_id}
        return novaenv.to_jsonable(cctxt.call(ctxt, method, **kwargs))

    def cmd_service(self, args):
        from nova import exception
        from nova import objects
        ctxt = self.admin_ctx()
        svc = objects.Service.get_by_host_and_binary(ctxt, self.host,
                                                     'nova-compute')
        service = None
        if svc is not None:
            service = {
                'id': svc.id, 'host': svc.host, 'binary': svc.binary,
                'topic': svc.topic, 'version': svc.version,
                'report_count': svc.report_count,
                'updated_at': novaenv.to_jsonable(svc.updated_at),
                'created_at': novaenv.to_jsonable(svc.created_at),
                'disabled': svc.disabled,
                'disabled_reason': svc.disabled_reason,
                'forced_down': svc.forced_down,
                'uuid': svc.uuid,
                'up': bool(self.servicegroup_api.service_is_up(svc)),
            }
        try:
            nodes = objects.ComputeNodeList.get_all_by_host(ctxt, self.host)
        except exception.ComputeHostNotFound:
            nodes = []
        compute_nodes = [{
            'uuid': n.uuid, 'hypervisor_hostname': n.hypervisor_hostname,
            'hypervisor_type': n.hypervisor_type,
            'hypervisor_version': n.hypervisor_version,
            'vcpus': n.vcpus, 'memory_mb': n.memory_mb,
            'local_gb': n.local_gb, 'vcpus_used': n.vcpus_used,
            'memory_mb_used': n.memory_mb_used,
            'local_gb_used': n.local_gb_used,
            'cpu_info': n.cpu_info,
            'service_id': n.service_id if 'service_id' in n else None,
            'updated_at': novaenv.to_jsonable(n.updated_at),
        } for n in nodes]
        return {'service': service, 'compute_nodes': compute_nodes}

    def cmd_reschedules(self, args):
        return self.recorder.records()

    def cmd_wait_built(self, args):
        """Waits until the builds of `uuids` saw the Instance.save that made
        them active: {ms: {uuid: cast to active save}, span_ms: first cast to
        last active save}."""
        uuids = _arg(args, 'uuids', list)
        if not uuids or not all(isinstance(u, str) for u in uuids):
            raise BadRequest('uuids must be a non-empty list of strings')
        timeout = _arg(args, 'timeout', (int, float), 60)
        if timeout <= 0:
            raise BadRequest('timeout must be > 0')
        return BUILD_TIMES.wait(uuids, timeout)


# Instance attributes nova-api loads before each action:
# servers.py _get_instance (start/stop)
_ATTRS_SERVERS_GET = ('system_metadata', 'metadata')
# servers.py _get_server -> compute_api.get (reboot, delete)
_ATTRS_GET_SERVER = ('flavor', 'numa_topology', 'metadata',
                     'system_metadata', 'security_groups', 'info_cache')
# common.get_instance -> compute_api.get (pause, suspend, console, ...)
_ATTRS_COMMON = ('metadata', 'system_metadata', 'security_groups',
                 'info_cache')

_OPS = None


def _ops():
    """The nova-api action functions, decorated with nova's own
    check_instance_lock / check_instance_host / check_instance_state."""
    global _OPS
    if _OPS is not None:
        return _OPS
    from nova.compute import api as compute_api
    from nova.compute import instance_actions
    from nova.compute import task_states
    from nova.compute import utils as compute_utils
    from nova.compute import vm_states
    from nova import exception
    from nova import objects
    from oslo_utils import timeutils

    @compute_api.check_instance_lock
    @compute_api.check_instance_host()
    @compute_api.check_instance_state(vm_state=[vm_states.ACTIVE,
                                                vm_states.ERROR])
    def stop(self, context, instance):
        instance.task_state = task_states.POWERING_OFF
        instance.progress = 0
        instance.save(expected_task_state=[None])
        self._record_action_start(context, instance, instance_actions.STOP)
        self.compute_rpcapi.stop_instance(context, instance, do_cast=True,
                                          clean_shutdown=True)

    @compute_api.check_instance_lock
    @compute_api.check_instance_host()
    @compute_api.check_instance_state(vm_state=[vm_states.STOPPED])
    def start(self, context, instance):
        instance.task_state = task_states.POWERING_ON
        instance.save(expected_task_state=[None])
        self._record_action_start(context, instance, instance_actions.START)
        self.compute_rpcapi.start_instance(context, instance)

    @compute_api.check_instance_state(
        vm_state=set(vm_states.ALLOW_SOFT_REBOOT), task_state=[None])
    def _soft_reboot(self, context, instance):
        instance.task_state = task_states.REBOOTING
        instance.save(expected_task_state=[None])
        self._record_action_start(context, instance, instance_actions.REBOOT)
        self.compute_rpcapi.reboot_instance(context, instance=instance,
                                            block_device_info=None,
                                            reboot_type='SOFT')

    @compute_api.check_instance_state(
        vm_state=set(vm_states.ALLOW_HARD_REBOOT),
        task_state=task_states.ALLOW_REBOOT)
    def _hard_reboot(self, context, instance):
        instance.task_state = task_states.REBOOTING_HARD
        instance.save(expected_task_state=task_states.ALLOW_REBOOT)
        self._record_action_start(context, instance, instance_actions.REBOOT)
        self.compute_rpcapi.reboot_instance(context, instance=instance,
                                            block_device_info=None,
                                            reboot_type='HARD')

    @compute_api.check_instance_lock
    def reboot(self, context, instance, reboot_type):
        if reboot_type == 'SOFT':
            _soft_reboot(self, context, instance)
        else:
            _hard_reboot(self, context, instance)

    def _simple(state, action, cast_name, allowed):
        @compute_api.check_instance_lock
        @compute_api.check_instance_state(vm_state=allowed)
        def op(self, context, instance):
            instance.task_state = state
            instance.save(expected_task_state=[None])
            self._record_action_start(context, instance, action)
            getattr(self.compute_rpcapi, cast_name)(context, instance)
        op.__name__ = cast_name.replace('_instance', '')
        return op

    pause = _simple(task_states.PAUSING, instance_actions.PAUSE,
                    'pause_instance', [vm_states.ACTIVE])
    unpause = _simple(task_states.UNPAUSING, instance_actions.UNPAUSE,
                      'unpause_instance', [vm_states.PAUSED])
    suspend = _simple(task_states.SUSPENDING, instance_actions.SUSPEND,
                      'suspend_instance', [vm_states.ACTIVE])
    resume = _simple(task_states.RESUMING, instance_actions.RESUME,
                     'resume_instance', [vm_states.SUSPENDED])

    @compute_api.check_instance_lock
    @compute_api.check_instance_state(vm_state=None, task_state=None,
                                      must_have_launched=False)
    def delete(self, context, instance, force_cast=False):
        """compute_api.API.delete -> _delete(..., _do_delete,
        task_state=DELETING) for our single-cell, no-BuildRequest world."""
        if instance.disable_terminate:
            return {'cast': False, 'local': False,
                    'skipped': 'termination disabled'}
        may_have = compute_utils.may_have_ports_or_volumes(instance)
        if not instance.host and not may_have:
            # never scheduled: destroy the row here
            instance.destroy()
            self._update_queued_for_deletion(context, instance.uuid, True)
            return {'cast': False, 'local': True}
        bdms = objects.BlockDeviceMappingList.get_by_instance_uuid(
            context, instance.uuid)
        original_task_state = instance.task_state
        instance.task_state = task_states.DELETING
        instance.progress = 0
        instance.save()
        is_local_delete = True
        service_up = None
        if instance.host is not None:
            try:
                service = objects.Service.get_by_compute_host(
                    context.elevated(), instance.host)
                service_up = bool(self.servicegroup_api.service_is_up(
                    service))
            except exception.ComputeHostNotFound:
                service_up = False
            is_local_delete = not (service_up or force_cast)
        if not is_local_delete:
            if original_task_state in (task_states.DELETING,
                                       task_states.SOFT_DELETING):
                return {'cast': False, 'local': False,
                        'skipped': 'already deleting',
                        'service_up': service_up}
            self._record_action_start(context, instance,
                                      instance_actions.DELETE)
            self.compute_rpcapi.terminate_instance(context, instance, bdms)
            self._update_queued_for_deletion(context, instance.uuid, True)
            return {'cast': True, 'local': False, 'service_up': service_up}
        # _local_delete (no network/volume services here)
        for bdm in bdms:
            if 'id' in bdm:
                bdm.destroy()
        instance.vm_state = vm_states.DELETED
        instance.task_state = None
        instance.terminated_at = timeutils.utcnow()
        instance.save()
        instance.destroy()
        self._update_queued_for_deletion(context, instance.uuid, True)
        return {'cast': False, 'local': True, 'service_up': service_up}

    _OPS = {'stop': stop, 'start': start, 'reboot': reboot, 'pause': pause,
            'unpause': unpause, 'suspend': suspend, 'resume': resume,
            'delete': delete}
    return _OPS


# ---------------------------------------------------------------------------
# process plumbing


class Harness(object):

    def __init__(self, opts, out):
        self.opts = opts
        self.out = out
        self.out_lock = threading.Lock()
        self.stopping = threading.Event()
        self.server = None
        self.workers = None
        self.api = None
        self.inflight = 0
        self.inflight_lock = threading.Lock()
        self.quit_id = None
        self.queue = queue.Queue()
        self.worker = threading.Thread(target=self._worker,
                                       name='cmd-worker', daemon=True)
        self.worker.start()

    def emit(self, obj):
        line = novaenv.dumps(obj)
        with self.out_lock:
            self.out.write(line + '\n')
            self.out.flush()

    def start(self):
        o = self.opts
        os.makedirs(o.state_dir, exist_ok=True)
        lock_dir = os.path.join(o.state_dir, 'locks')
        os.makedirs(lock_dir, exist_ok=True)
        conf_file = os.path.join(o.state_dir, 'nova-harness.conf')
        main_db = os.path.join(os.path.abspath(o.state_dir), 'nova.sqlite')
        api_db = os.path.join(os.path.abspath(o.state_dir), 'nova_api.sqlite')
        novaenv.write_conf(conf_file, {
            'DEFAULT': {
                'transport_url': o.transport_url,
                'host': o.conductor_name,
                'rpc_response_timeout': o.rpc_timeout,
                'state_path': os.path.abspath(o.state_dir),
                'debug': 'true' if o.debug else 'false',
            },
            # timeout: seconds a transaction waits for sqlite's write lock
            'database': {'connection': o.db_connection or
                         'sqlite:///%s?timeout=60' % main_db},
            'api_database': {
                'connection': o.api_db_connection or
                'sqlite:///%s?timeout=60' % api_db},
            'oslo_concurrency': {'lock_path': lock_dir},
            'oslo_messaging_notifications': {'driver': 'noop'},
            'notifications': {'notification_format': 'unversioned'},
        })
        conf = novaenv.configure_nova(conf_file, 'nova-harness', with_db=True)
        from nova.db import migration
        t0 = time.monotonic()
        migration.db_sync(database='main')
        migration.db_sync(database='api')
        LOG.info('db_sync done in %.2fs', time.monotonic() - t0)
        serialize_sqlite_transactions()

        recorder = ComputeTaskRecorder()
        self.api = Api(conf, o.compute_host, recorder)
        self.api.ensure_mappings()
        if o.conductor_workers:
            self.workers = ConductorWorkers(o.conductor_workers, o,
                                            conf_file, recorder)
            self.workers.start()
        else:
            self.server = build_conductor(o.conductor_name, recorder,
                                          BUILD_TIMES.saw_active)
            self.server.start()
        LOG.info('conductor %s serving (compute host %s)', o.conductor_name,
                 o.compute_host)

    def stop_servers(self):
        if self.workers is not None:
            self.workers.stop()
            self.workers = None
        if self.server is not None:
            try:
                if not stop_rpc_server(self.server):
                    LOG.warning('conductor server did not stop within 5s')
                    self.server = None
                    return
            except Exception:
                LOG.exception('error stopping conductor server')
            self.server = None
        try:
            from nova import rpc
            if rpc.TRANSPORT is not None:
                rpc.cleanup()
        except Exception:
            LOG.exception('error cleaning up transports')

    def handle_line(self, line):
        try:
            msg = json.loads(line)
        except ValueError as e:
            self.emit({'id': None, 'ok': False,
                       'error': {'class': 'BadRequest', 'module': 'harness',
                                 'message': 'invalid JSON: %s' % e}})
            return
        if not isinstance(msg, dict):
            self.emit({'id': None, 'ok': False,
                       'error': {'class': 'BadRequest', 'module': 'harness',
                                 'message': 'command must be a JSON object'}})
            return
        cmd_id = msg.get('id')
        cmd = msg.get('cmd')
        if cmd == 'quit':
            # answered by main() once the servers are stopped
            self.quit_id = cmd_id
            self.stopping.set()
            return
        if not isinstance(cmd, str) or not hasattr(self.api, 'cmd_' + cmd):
            self.emit({'id': cmd_id, 'ok': False,
                       'error': {'class': 'BadRequest', 'module': 'harness',
                                 'message': 'unknown command %r' % (cmd,)}})
            return
        args = {k: v for k, v in msg.items()
                if k not in ('cmd', 'id', 'parallel')}
        with self.inflight_lock:
            self.inflight += 1
        if msg.get('parallel') is True:
            threading.Thread(target=self._run, name='cmd-%s' % cmd,
                             args=(cmd_id, cmd, args), daemon=True).start()
        else:
            self.queue.put((cmd_id, cmd, args))

    def _worker(self):
        while True:
            item = self.queue.get()
            if item is None:
                return
            self._run(*item)

    def _run(self, cmd_id, cmd, args):
        try:
            LOG.info('command %s id=%s args=%s', cmd, cmd_id,
                     json.dumps(args)[:500])
            result = getattr(self.api, 'cmd_' + cmd)(args)
            reply = {'id': cmd_id, 'ok': True,
                     'result': novaenv.to_jsonable(result)}
        except Exception as e:
            if not isinstance(e, (BadRequest, Timeout)):
                LOG.info('command %s id=%s failed:\n%s', cmd, cmd_id,
                         traceback.format_exc())
            reply = {'id': cmd_id, 'ok': False,
                     'error': novaenv.error_to_json(e)}
        try:
            self.emit(reply)
        except Exception:
            LOG.exception('cannot write reply')
        finally:
            with self.inflight_lock:
                self.inflight -= 1

    def read_loop(self):
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            self.handle_line(line)
            if self.stopping.is_set():
                break

    def wait_inflight(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.inflight_lock:
                if self.inflight <= 0:
                    return
            time.sleep(0.02)


class _Terminate(BaseException):
    pass


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--transport-url', required=True)
    p.add_argument('--state-dir', required=True)
    p.add_argument('--compute-host', required=True)
    p.add_argument('--rpc-timeout', type=int, default=10)
    p.add_argument('--conductor-name', default='harness-conductor',
                   help='conductor RPC server name (queue conductor.<name>)')
    p.add_argument('--drain-timeout', type=float, default=30.0,
                   help='on quit/EOF, wait this long for pending commands')
    p.add_argument('--db-connection', default=None,
                   help='nova main DB URL (empty databases; default: sqlite in '
                        '--state-dir), e.g. mysql+pymysql://root@127.0.0.1/x')
    p.add_argument('--api-db-connection', default=None,
                   help='nova API DB URL (default: sqlite in --state-dir)')
    p.add_argument('--conductor-workers', type=int, default=0,
                   help='serve the conductor from this many worker '
                        'processes (nova\'s [conductor] workers); 0: in this '
                        'process')
    p.add_argument('--serve-conductor', metavar='CONF', default=None,
                   help=argparse.SUPPRESS)  # a worker's own mode
    p.add_argument('--debug', action='store_true')
    p.add_argument('--log-file', default=None,
                   help='default <state-dir>/harness.log; "-" = stderr only')
    return p.parse_args(argv)


def main(argv=None):
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    out = novaenv.protect_stdout()
    os.makedirs(opts.state_dir, exist_ok=True)
    log_file = opts.log_file
    if log_file is None:
        log_file = os.path.join(opts.state_dir, 'harness.log')
    elif log_file == '-':
        log_file = None
    novaenv.setup_logging(log_file, debug=opts.debug)

    def on_term(signum, frame):
        raise _Terminate()
    signal.signal(signal.SIGTERM, on_term)
    if opts.serve_conductor:
        return serve_conductor(opts, out)
    if not 0 <= opts.conductor_workers <= 64:
        LOG.error('--conductor-workers must be between 0 and 64')
        return 2

    h = Harness(opts, out)
    code = 0
    try:
        try:
            h.start()
        except Exception as e:
            LOG.exception('start-up failed')
            h.emit({'ready': False, 'error': novaenv.error_to_json(e)})
            return 1
        h.emit({'ready': True, 'conductor': opts.conductor_name,
                'compute_host': opts.compute_host, 'pid': os.getpid(),
                'conductor_pids': (h.workers.pids() if h.workers
                                   else [os.getpid()])})
        h.read_loop()
        # quit / EOF: let commands already received finish first
        h.wait_inflight(opts.drain_timeout)
    except (_Terminate, KeyboardInterrupt):
        LOG.info('terminating on signal')
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        h.stop_servers()
        if h.stopping.is_set():
            h.emit({'id': h.quit_id, 'ok': True, 'result': None})
        LOG.info('harness exiting')
        try:
            out.flush()
        except Exception:
            pass
    return code


if __name__ == '__main__':
    rc = main()
    # Non-daemon threads in oslo/kombu must not keep us alive.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)
