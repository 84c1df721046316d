/**
 * metadata.yaml of an LXD image: `architecture` and `creation_date` are required; `expiry_date`,
 * `properties` (string values) and `templates` (path -> rule) are optional.
 */
import { parse as parseYaml } from 'yaml';
import { InvalidArgumentError } from '@lodge/common';

export const TEMPLATE_TRIGGERS = ['create', 'copy', 'start', 'rename'] as const;
export type TemplateTrigger = (typeof TEMPLATE_TRIGGERS)[number];

export interface TemplateRule {
  /** file in the image's templates/ directory */
  template: string;
  when: TemplateTrigger[];
  /** render only when the target file does not exist yet */
  create_only: boolean;
  /** extra values the template sees as `properties.*` */
  properties: Record<string, string>;
  /** optional owner and mode (newer LXD): ids inside the container, mode as octal text */
  uid?: number;
  gid?: number;
  mode?: number;
}

export interface ImageMetadata {
  architecture: string;
  /** seconds since the epoch */
  creation_date: number;
  /** seconds since the epoch; 0 or absent: never */
  expiry_date?: number;
  properties: Record<string, string>;
  /** container path (absolute) -> rule */
  templates: Record<string, TemplateRule>;
}

/** Most metadata.yaml files are a few hundred bytes; anything this large is not one. */
export const MAX_METADATA_BYTES = 1 << 20;

export function parseMetadata(text: string): ImageMetadata {
  if (Buffer.byteLength(text) > MAX_METADATA_BYTES) throw bad(`is larger than ${MAX_METADATA_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw bad(`is not valid YAML: ${(err as Error).message.split('\n')[0]}`, err);
  }
  if (!isObject(doc)) throw bad('must be a YAML mapping');
  const architecture = doc.architecture;
  if (typeof architecture !== 'string' || !/^[A-Za-z0-9_.-]{1,32}$/.test(architecture)) {
    throw bad('needs an "architecture" (e.g. x86_64)');
  }
  const creation = epoch(doc.creation_date, 'creation_date');
  if (creation === undefined) throw bad('needs a "creation_date" (seconds since the epoch)');
  const expiry = epoch(doc.expiry_date, 'expiry_date');
  const properties = stringMap(doc.properties, 'properties');
  const templates: Record<string, TemplateRule> = {};
  if (doc.templates !== undefined && doc.templates !== null) {
    if (!isObject(doc.templates)) throw bad('"templates" must be a mapping of path to rule');
    for (const [path, rule] of Object.entries(doc.templates)) templates[path] = parseRule(path, rule);
  }
  const out: ImageMetadata = { architecture, creation_date: creation, properties, templates };
  if (expiry !== undefined && expiry !== 0) out.expiry_date = expiry;
  return out;
}

function parseRule(path: string, rule: unknown): TemplateRule {
  const where = `template rule "${path}"`;
  if (!path.startsWith('/') || path.includes('\0') || path.split('/').includes('..') || path === '/') {
    throw bad(`${where}: the path must be absolute, without ".."`);
  }
  if (!isObject(rule)) throw bad(`${where} must be a mapping`);
  const template = rule.template;
  if (typeof template !== 'string' || !/^[^/\0]+$/.test(template) || template === '.' || template === '..') {
    throw bad(`${where}: "template" must name a file in templates/`);
  }
  const when = rule.when ?? [];
  if (!Array.isArray(when) || when.some((w) => !(TEMPLATE_TRIGGERS as readonly string[]).includes(w))) {
    throw bad(`${where}: "when" must list triggers out of ${TEMPLATE_TRIGGERS.join(', ')}`);
  }
  const createOnly = rule.create_only ?? false;
  if (typeof createOnly !== 'boolean') throw bad(`${where}: "create_only" must be true or false`);
  const out: TemplateRule = {
    template,
    when: when as TemplateTrigger[],
    create_only: createOnly,
    properties: stringMap(rule.properties, `${where} properties`),
  };
  for (const k of ['uid', 'gid'] as const) {
    if (rule[k] === undefined || rule[k] === null || rule[k] === '') continue;
    const n = Number(rule[k]);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw bad(`${where}: "${k}" must be an id 0..65535`);
    out[k] = n;
  }
  if (rule.mode !== undefined && rule.mode !== null && rule.mode !== '') {
    const m = String(rule.mode);
    if (!/^0?[0-7]{1,4}$/.test(m)) throw bad(`${where}: "mode" must be octal (e.g. "0644")`);
    out.mode = parseInt(m, 8);
  }
  return out;
}

function epoch(v: unknown, key: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw bad(`"${key}" must be seconds since the epoch`);
  return n;
}

function stringMap(v: unknown, what: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw bad(`${what} must be a mapping`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (val === null || val === undefined) continue;
    if (typeof val === 'object') throw bad(`${what}: "${k}" must be a plain value`);
    out[k] = String(val);
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(msg: string, cause?: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`image metadata.yaml ${msg}`, cause === undefined ? undefined : { cause });
}
