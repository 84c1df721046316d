/**
 * The nova exceptions Lodge raises to nova, by class name: the message template (nova's msg_fmt,
 * `%(key)s` filled from the kwargs) and the HTTP code nova-api turns it into. nova re-creates
 * the exception from module `nova.exception`, the class name, args [message] and these kwargs,
 * so a name here must be a real class of nova.exception with the same keyword arguments.
 */
export const NOVA_EXCEPTIONS = {
  NovaException: { fmt: 'An unknown exception occurred.', code: 500 },
  InstanceNotFound: { fmt: 'Instance %(instance_id)s could not be found.', code: 404 },
  InstanceExists: { fmt: 'Instance %(name)s already exists.', code: 500 },
  InstanceInvalidState: {
    fmt: 'Instance %(instance_uuid)s in %(attr)s %(state)s. Cannot %(method)s while the instance is in this state.',
    code: 400,
  },
  ConsoleTypeUnavailable: { fmt: 'Unavailable console type %(console_type)s.', code: 400 },
  ConsoleNotAvailable: { fmt: 'Guest does not have a console available.', code: 404 },
  BuildAbortException: { fmt: 'Build of instance %(instance_uuid)s aborted: %(reason)s', code: 500 },
  RescheduledException: { fmt: 'Build of instance %(instance_uuid)s was re-scheduled: %(reason)s', code: 500 },
  InstanceDeployFailure: { fmt: 'Failed to deploy instance: %(reason)s', code: 400 },
  ImageNotFound: { fmt: 'Image %(image_id)s could not be found.', code: 404 },
  ImageUnacceptable: { fmt: 'Image %(image_id)s is unacceptable: %(reason)s', code: 400 },
  ImageNotAuthorized: { fmt: 'Not authorized for image %(image_id)s.', code: 500 },
  ImageBadRequest: { fmt: 'Request of image %(image_id)s got BadRequest response: %(response)s', code: 400 },
  GlanceConnectionFailed: { fmt: 'Connection to glance host %(server)s failed: %(reason)s', code: 500 },
  CouldNotFetchImage: { fmt: 'Could not fetch image %(image_id)s', code: 500 },
  InstancePowerOffFailure: { fmt: 'Failed to power off instance: %(reason)s', code: 400 },
  InstancePowerOnFailure: { fmt: 'Failed to power on instance: %(reason)s', code: 400 },
  InstanceRebootFailure: { fmt: 'Failed to reboot instance: %(reason)s', code: 400 },
  InstanceSuspendFailure: { fmt: 'Failed to suspend instance: %(reason)s', code: 400 },
  InstanceResumeFailure: { fmt: 'Failed to resume instance: %(reason)s', code: 400 },
  InstanceNotRunning: { fmt: 'Instance %(instance_id)s is not running.', code: 400 },
  InstanceTerminationFailure: { fmt: 'Failed to terminate instance: %(reason)s', code: 400 },
  InvalidInput: { fmt: 'Invalid input received: %(reason)s', code: 400 },
} as const;

export type NovaExceptionName = keyof typeof NOVA_EXCEPTIONS;

/** A nova exception raised by Lodge; the RPC server sends it back as a `nova.exception` failure. */
export class NovaException extends Error {
  readonly kwargs: Record<string, unknown>;
  constructor(
    readonly novaClass: NovaExceptionName,
    kwargs: Record<string, unknown> = {},
    options?: { cause?: unknown; message?: string },
  ) {
    const spec = NOVA_EXCEPTIONS[novaClass];
    // nova: NovaException(message) keeps a given message, else formats msg_fmt with the kwargs.
    super(options?.message ?? formatMessage(spec.fmt, kwargs), { cause: options?.cause });
    this.name = novaClass;
    this.kwargs = { ...kwargs, code: spec.code };
  }
}

/** Python's `msg_fmt % kwargs`; a missing key leaves the template as nova's fallback does. */
function formatMessage(fmt: string, kwargs: Record<string, unknown>): string {
  let ok = true;
  const out = fmt.replace(/%\((\w+)\)s/g, (_m, key: string) => {
    if (!(key in kwargs)) ok = false;
    return pythonStr(kwargs[key]);
  });
  return ok ? out : fmt;
}

function pythonStr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  return typeof v === 'string' ? v : JSON.stringify(v);
}
