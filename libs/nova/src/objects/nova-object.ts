import { isObject } from '../oslo/envelope';

export type NovaPrimitive = {
  'nova_object.name': string;
  'nova_object.namespace': string;
  'nova_object.version': string;
  'nova_object.data': Record<string, unknown>;
  'nova_object.changes'?: string[];
};

export class InvalidNovaObjectError extends Error {}

export function isNovaPrimitive(v: unknown): v is NovaPrimitive {
  return isObject(v) && typeof v['nova_object.name'] === 'string' && isObject(v['nova_object.data']);
}

/**
 * An oslo.versionedobjects object as it travels: name, version, the fields that are set, and the
 * names changed since it was last saved. Fields Lodge does not know are kept and sent back
 * as they came (a newer nova may add fields). Nested objects stay NovaObjects.
 */
export class NovaObject {
  private readonly changed: Set<string>;

  constructor(
    readonly name: string,
    readonly version: string,
    private readonly data: Record<string, unknown> = {},
    changes: Iterable<string> = [],
    readonly namespace = 'nova',
  ) {
    this.changed = new Set(changes);
  }

  /** Reads a primitive; throws InvalidNovaObjectError when `expected` is given and differs. */
  static fromPrimitive(p: unknown, expected?: string): NovaObject {
    if (!isNovaPrimitive(p)) throw new InvalidNovaObjectError(`expected a ${expected ?? 'nova'} object primitive`);
    const name = p['nova_object.name'];
    if (expected && name !== expected) throw new InvalidNovaObjectError(`expected a ${expected} object, got ${name}`);
    if (p['nova_object.namespace'] !== undefined && p['nova_object.namespace'] !== 'nova') {
      throw new InvalidNovaObjectError(`object namespace ${String(p['nova_object.namespace'])} is not nova`);
    }
    const data: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(p['nova_object.data'])) data[k] = decodeValue(v);
    const changes = Array.isArray(p['nova_object.changes']) ? p['nova_object.changes'].filter((c): c is string => typeof c === 'string') : [];
    return new NovaObject(name, String(p['nova_object.version'] ?? ''), data, changes);
  }

  has(field: string): boolean {
    return field in this.data;
  }

  get(field: string): unknown {
    return this.data[field];
  }

  /** A field that must be a string (or null when `nullable`). */
  str(field: string): string;
  str(field: string, nullable: true): string | null;
  str(field: string, nullable = false): string | null {
    const v = this.data[field];
    if (typeof v === 'string') return v;
    if (nullable && (v === null || v === undefined)) return null;
    throw new InvalidNovaObjectError(`${this.name}.${field} must be a string`);
  }

  int(field: string, fallback?: number): number {
    const v = this.data[field];
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    throw new InvalidNovaObjectError(`${this.name}.${field} must be an integer`);
  }

  obj(field: string, expected?: string): NovaObject | null {
    const v = this.data[field];
    if (v === null || v === undefined) return null;
    if (!(v instanceof NovaObject) || (expected && v.name !== expected)) {
      throw new InvalidNovaObjectError(`${this.name}.${field} must be a ${expected ?? 'nova'} object`);
    }
    return v;
  }

  /** Sets a field and marks it changed (what `instance.x = y` does in nova). */
  set(field: string, value: unknown): this {
    this.data[field] = value;
    this.changed.add(field);
    return this;
  }

  get changes(): string[] {
    return [...this.changed];
  }

  /** What nova's obj_reset_changes() does after a save: nothing is pending any more. */
  resetChanges(): void {
    this.changed.clear();
    for (const v of Object.values(this.data)) if (v instanceof NovaObject) v.resetChanges();
  }

  /**
   * Applies the `updates` of a conductor `object_action` reply: every field the server changed,
   * serialized, plus `obj_what_changed`. Afterwards nothing is pending, as in nova.
   */
  applyUpdates(updates: unknown): void {
    if (isObject(updates)) {
      for (const [k, v] of Object.entries(updates)) {
        if (k === 'obj_what_changed') continue;
        this.data[k] = decodeValue(v);
      }
    }
    this.resetChanges();
  }

  toPrimitive(): NovaPrimitive {
    const data: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.data)) data[k] = encodeValue(v);
    const p: NovaPrimitive = {
      'nova_object.name': this.name,
      'nova_object.namespace': this.namespace,
      'nova_object.version': this.version,
      'nova_object.data': data,
    };
    const changes = this.changes;
    if (changes.length) p['nova_object.changes'] = changes;
    return p;
  }
}

function decodeValue(v: unknown): unknown {
  if (isNovaPrimitive(v)) return NovaObject.fromPrimitive(v);
  if (Array.isArray(v)) return v.map(decodeValue);
  return v;
}

function encodeValue(v: unknown): unknown {
  if (v instanceof NovaObject) return v.toPrimitive();
  if (Array.isArray(v)) return v.map(encodeValue);
  return v;
}

/** oslo's DateTimeField on the wire: "2026-11-24T05:14:49Z" (no fraction). */
export function novaDateTime(d = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** An `XxxList` object's members (`data.objects`). */
export function listObjects(list: NovaObject | null): NovaObject[] {
  if (!list) return [];
  const objs = list.get('objects');
  if (!Array.isArray(objs)) throw new InvalidNovaObjectError(`${list.name}.objects must be a list`);
  return objs.map((o) => {
    if (!(o instanceof NovaObject)) throw new InvalidNovaObjectError(`${list.name}.objects must hold objects`);
    return o;
  });
}
