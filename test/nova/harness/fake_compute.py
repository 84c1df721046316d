#!/usr/bin/python3
"""DEV TOOL ONLY - not used by any test.

A tiny stand-in for nova-compute, used to prove nova_harness.py works before
Lodge's TypeScript compute exists.  It serves ``compute.<host>`` (topic
compute, server <host>, version 6.1) with nova's serializer and reports back
through the harness' conductor using nova's own objects (indirection API =
nova.conductor.rpcapi.ConductorAPI), walking the states nova-compute walks:

* build_and_run_instance: event compute__do_build_and_run_instance;
  building/None (expected [scheduling, None]) -> host/node/launched_on ->
  networking -> block_device_mapping -> spawning -> active/None/power 1.
  If the instance metadata has ``fake_fail_build`` the build fails instead:
  fault recorded, and with filter_properties.retry a compute_task
  build_instances reschedule is cast (else vm_state error).
* stop/start/reboot/pause/unpause/suspend/resume/terminate: the final states
  of nova-compute, each inside its compute_<method> event.
* get_console_output -> fixed string; get_host_uptime -> fixed string;
  get_instance_diagnostics -> a Diagnostics object.
* At start: baseapi ping of the conductor, nova-compute Service row
  (create or update) with a 10 s heartbeat, and one ComputeNode.

  /usr/bin/python3 test/nova/harness/fake_compute.py \
      --transport-url rabbit://guest:guest@127.0.0.1:5672/<vhost> \
      --compute-host <host> [--state-dir DIR]

Prints {"ready": true} on stdout when serving; stops on SIGTERM (or on stdin
EOF with --exit-on-eof).
"""

import argparse
import logging
import os
import signal
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import novaenv  # noqa: E402

novaenv.ensure_nova_python()

LOG = logging.getLogger('fake_compute')

CONSOLE_TEXT = 'fake-compute console output\nline 2\nlogin: '
UPTIME_TEXT = ' 10:00:00 up 1 day,  1:00,  0 users,  load average: 0.00, ' \
    '0.01, 0.05'


class FakeComputeManager(object):

    def __init__(self, host):
        import oslo_messaging as messaging
        self.target = messaging.Target(version='6.1')
        self.host = host

    # -- helpers -----------------------------------------------------------

    def _event(self, context, instance, name):
        from nova.compute import utils as compute_utils
        return compute_utils.EventReporter(context, name, self.host,
                                           instance.uuid, graceful_exit=True)

    def _final(self, context, instance, event, vm_state, power, expected,
               **extra):
        with self._event(context, instance, event):
            instance.vm_state = vm_state
            instance.power_state = power
            instance.task_state = None
            for k, v in extra.items():
                setattr(instance, k, v)
            instance.save(expected_task_state=expected)

    # -- build -------------------------------------------------------------

    def build_and_run_instance(self, context, instance, image, request_spec,
                               filter_properties, admin_password=None,
                               injected_files=None, requested_networks=None,
                               security_groups=None, block_device_mapping=None,
                               node=None, limits=None, host_list=None,
                               accel_uuids=None):
        from oslo_utils import timeutils
        from nova.compute import power_state
        from nova.compute import task_states
        from nova.compute import utils as compute_utils
        from nova.compute import vm_states
        LOG.info('build_and_run_instance %s image=%s bdms=%d files=%d',
                 instance.uuid, image.get('id'),
                 len(block_device_mapping or []), len(injected_files or []))
        event = 'compute__do_build_and_run_instance'
        fail = 'fake_fail_build' in (instance.metadata or {})
        try:
            with self._event(context, instance, event):
                instance.vm_state = vm_states.BUILDING
                instance.task_state = None
                instance.save(expected_task_state=(task_states.SCHEDULING,
                                                   None))
                # resource claim
                instance.host = self.host
                instance.node = node or self.host
                instance.launched_on = self.host
                instance.save()
                instance.task_state = task_states.NETWORKING
                instance.save(expected_task_state=[None])
                instance.task_state = task_states.BLOCK_DEVICE_MAPPING
                instance.save(expected_task_state=task_states.NETWORKING)
                instance.task_state = task_states.SPAWNING
                instance.save(
                    expected_task_state=task_states.BLOCK_DEVICE_MAPPING)
                if fail:
                    raise RuntimeError('fake_fail_build requested')
                instance.power_state = power_state.RUNNING
                instance.vm_state = vm_states.ACTIVE
                instance.task_state = None
                instance.launched_at = timeutils.utcnow()
                instance.save(expected_task_state=task_states.SPAWNING)
        except Exception as e:
            LOG.info('build of %s failed: %s', instance.uuid, e)
            compute_utils.add_instance_fault_from_exc(context, instance, e,
                                                      sys.exc_info())
            retry = (filter_properties or {}).get('retry')
            if retry:
                from nova.conductor import rpcapi as conductor_rpcapi
                retry['exc_reason'] = str(e)
                instance.task_state = task_states.SCHEDULING
                instance.host = None
                instance.node = None
                instance.launched_on = None
                instance.save()
                conductor_rpcapi.ComputeTaskAPI().build_instances(
                    context, [instance], image, filter_properties,
                    admin_password, injected_files, requested_networks,
                    security_groups, block_device_mapping,
                    request_spec=request_spec, host_lists=[host_list or []])
            else:
                instance.vm_state = vm_states.ERROR
                instance.task_state = None
                instance.save()

    # -- power actions -----------------------------------------------------

    def stop_instance(self, context, instance, clean_shutdown=True):
        from nova.compute import power_state
        from nova.compute import task_states
        from nova.compute import vm_states
        self._final(context, instance, 'compute_stop_instance',
                    vm_states.STOPPED, power_state.SHUTDOWN,
                    [task_states.POWERING_OFF])

    def start_instance(self, context, instance):
        from nova.compute import power_state
        from nova.compute import task_states
        from nova.compute import vm_states
        self._final(context, instance, 'compute_start_instance',
                    vm_states.ACTIVE, power_state.RUNNING,
                    task_states.POWERING_ON)

    def reboot_instance(self, context, instance, block_device_info,
                        reboot_type):
        from nova.compute import power_state
        from nova.compute import task_states
        from nova.compute import vm_states
        hard = reboot_type == 'HARD'
        with self._event(context, instance, 'compute_reboot_instance'):
            if hard:
                expected = task_states.hard_reboot_states
                pending = task_states.REBOOT_PENDING_HARD
                started = task_states.REBOOT_STARTED_HARD
            else:
                expected = task_states.soft_reboot_states
                pending = task_states.REBOOT_PENDING
                started = task_states.REBOOT_STARTED
            instance.task_state = pending
            instance.save(expected_task_state=expected)
            instance.task_state = started
            instance.save(expected_task_state=pending)
            instance.vm_state = vm_states.ACTIVE
            instance.power_state = power_state.RUNNING
            instance.task_state = None
            instance.save()

    def pause_instance(self, context, instance):
        from nova.compute import power_state
        from nova.compute import task_states
        from nova.compute import vm_states
        self._final(context, instance, 'compute_pause_instance',
                    vm_states.PAUSED, power_state.PAUSED,
                    task_states.PAUSING)

    def unpause_instance(self, context, instance):
        from nova.compute import power_state
        from nova.compute import task_states
        from nova.compute import vm_states
        self._final(context, instance, 'compute_unpause_instance',
                    vm_states.ACTIVE, power_state.RUNNING,
                    task_states.UNPAUSING)

    def suspend_instance(self, context, instance):
        from nova.compute import power_state
        from nova.compute import task_states
        from nova.compute import vm_states
        self._final(context, instance, 'compute_suspend_instance',
                    vm_states.SUSPENDED, power_state.SUSPENDED,
                    task_states.SUSPENDING)

    def resume_instance(self, context, instance):
        from nova.compute import power_state
        from nova.compute import task_states
        from nova.compute import vm_states
        self._final(context, instance, 'compute_resume_instance',
                    vm_states.ACTIVE, power_state.RUNNING,
                    task_states.RESUMING)

    def terminate_instance(self, context, instance, bdms):
        from oslo_utils import timeutils
        from nova.compute import power_state
        from nova.compute import vm_states
        with self._event(context, instance, 'compute_terminate_instance'):
            instance.vm_state = vm_states.DELETED
            instance.task_state = None
            instance.power_state = power_state.NOSTATE
            instance.terminated_at = timeutils.utcnow()
            instance.save()
            for bdm in bdms or []:
                bdm.destroy()
            instance.destroy()

    def external_instance_event(self, context, instances, events):
        for ev in events:
            LOG.info('external event %s (%s, %s) for %s', ev.name, ev.tag,
                     ev.status, ev.instance_uuid)

    # -- calls -------------------------------------------------------------

    def get_console_output(self, context, instance, tail_length):
        lines = CONSOLE_TEXT.split('\n')
        if tail_length is not None:
            lines = lines[-int(tail_length):] if tail_length else []
        return '\n'.join(lines)

    def get_vnc_console(self, context, console_type, instance):
        # an "expected" nova exception, re-raised by name on the caller side
        import oslo_messaging as messaging
        from nova import exception

        @messaging.expected_exceptions(exception.ConsoleTypeUnavailable)
        def fail():
            raise exception.ConsoleTypeUnavailable(console_type=console_type)
        fail()

    def get_host_uptime(self, context):
        return UPTIME_TEXT

    def get_instance_diagnostics(self, context, instance):
        from nova import objects
        diags = objects.Diagnostics(
            state='running', driver='libvirt', hypervisor='lxc',
            hypervisor_os='linux', uptime=42, config_drive=False,
            num_cpus=1, num_nics=0, num_disks=1, memory_details=None)
        return diags


def register_service(host):
    """What nova/service.py does at start for nova-compute (without
    placement)."""
    from nova import context as nova_context
    from nova import objects
    ctxt = nova_context.get_admin_context()
    svc = objects.Service.get_by_host_and_binary(ctxt, host, 'nova-compute')
    if svc is None:
        svc = objects.Service(ctxt, host=host, binary='nova-compute',
                              topic='compute', report_count=0)
        svc.create()
    else:
        svc.version = objects.service.SERVICE_VERSION
        svc.save()
    try:
        objects.ComputeNode.get_by_host_and_nodename(ctxt, host, host)
    except Exception:
        from oslo_utils import uuidutils
        cn = objects.ComputeNode(
            ctxt, uuid=uuidutils.generate_uuid(), host=host,
            hypervisor_hostname=host, service_id=svc.id,
            vcpus=4, memory_mb=4096, local_gb=40, vcpus_used=0,
            memory_mb_used=512, local_gb_used=0, hypervisor_type='lxc',
            hypervisor_version=5000000, cpu_info='{}',
            disk_available_least=40, free_ram_mb=3584, free_disk_gb=40,
            current_workload=0, running_vms=0, host_ip='127.0.0.1',
            supported_hv_specs=[], cpu_allocation_ratio=16.0,
            ram_allocation_ratio=1.5, disk_allocation_ratio=1.0,
            numa_topology=None, stats={})
        cn.create()
    return svc


def heartbeat(svc, stop):
    while not stop.wait(10):
        try:
            svc.report_count += 1
            svc.save()
        except Exception:
            LOG.warning('heartbeat failed:\n%s', traceback.format_exc())


def main():
    p = argparse.ArgumentParser(description='fake nova-compute (dev tool)')
    p.add_argument('--transport-url', required=True)
    p.add_argument('--compute-host', required=True)
    p.add_argument('--state-dir', default=None)
    p.add_argument('--rpc-timeout', type=int, default=10)
    p.add_argument('--exit-on-eof', action='store_true',
                   help='also stop when stdin reaches EOF')
    p.add_argument('--debug', action='store_true')
    opts = p.parse_args()

    out = novaenv.protect_stdout()
    state_dir = opts.state_dir or tempfile.mkdtemp(prefix='fake-compute-')
    os.makedirs(state_dir, exist_ok=True)
    novaenv.setup_logging(os.path.join(state_dir, 'fake_compute.log'),
                          debug=opts.debug)
    conf_file = os.path.join(state_dir, 'fake-compute.conf')
    novaenv.write_conf(conf_file, {
        'DEFAULT': {'transport_url': opts.transport_url,
                    'host': opts.compute_host,
                    'rpc_response_timeout': opts.rpc_timeout},
        'oslo_concurrency': {'lock_path': state_dir},
        'oslo_messaging_notifications': {'driver': 'noop'},
    })
    novaenv.configure_nova(conf_file, 'fake-compute', with_db=False)

    import oslo_messaging as messaging
    from oslo_messaging.rpc import dispatcher
    from nova import baserpc
    from nova.conductor import api as conductor_api
    from nova.conductor import rpcapi as conductor_rpcapi
    from nova import context as nova_context
    from nova.objects import base as objects_base
    from nova import rpc

    # nova-compute has no DB: every object call goes to the conductor
    objects_base.NovaObject.indirection_api = conductor_rpcapi.ConductorAPI()
    conductor_api.API().wait_until_ready(nova_context.get_admin_context())

    svc = register_service(opts.compute_host)
    stop = threading.Event()
    threading.Thread(target=heartbeat, args=(svc, stop), daemon=True,
                     name='heartbeat').start()

    target = messaging.Target(topic='compute', server=opts.compute_host)
    endpoints = [FakeComputeManager(opts.compute_host),
                 baserpc.BaseRPCAPI('compute', None)]
    server = messaging.get_rpc_server(
        rpc.TRANSPORT, target, endpoints, executor='threading',
        serializer=rpc.RequestContextSerializer(
            objects_base.NovaObjectSerializer()),
        access_policy=dispatcher.DefaultRPCAccessPolicy)
    server.start()
    out.write(novaenv.dumps({'ready': True, 'pid': os.getpid(),
                             'state_dir': state_dir}) + '\n')
    out.flush()

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())

    def stdin_watch():
        try:
            while sys.stdin.readline():
                pass
        except Exception:
            pass
        done.set()
    if opts.exit_on_eof:
        threading.Thread(target=stdin_watch, daemon=True).start()
    while not done.wait(0.5):
        pass
    stop.set()
    server.stop()
    # bounded: in-flight handlers may be waiting on a conductor that is gone
    waiter = threading.Thread(target=server.wait, daemon=True)
    waiter.start()
    waiter.join(3)
    if not waiter.is_alive():
        rpc.cleanup()
    return 0


if __name__ == '__main__':
    rc = main()
    os._exit(rc)
