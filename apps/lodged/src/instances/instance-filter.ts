/**
 * `?filter=` on instance lists, the subset of LXD's OData-like syntax that LXD documents:
 * `<field> eq|ne <value>` terms joined by `and` / `or`, each optionally preceded by `not`.
 * `and` binds tighter than `or`. Fields are JSON names of the instance object, nested with dots
 * (`status`, `name`, `type`, `ephemeral`, `config.user.foo`, `expanded_config.limits.cpu`); a map
 * key may itself contain dots. Values may be quoted ('a b' or "a b"). Status compares without case
 * (`status eq running` works as in LXD's list); other fields compare exactly.
 */
import { InvalidArgumentError } from '@lodge/common';

interface Term {
  not: boolean;
  field: string;
  op: 'eq' | 'ne';
  value: string;
}

/** OR of ANDs of terms. */
export type Filter = Term[][];

export function parseFilter(text: string): Filter | undefined {
  const tokens = tokenize(text);
  if (tokens.length === 0) return undefined;
  const groups: Filter = [[]];
  let i = 0;
  const bad = (why: string) => new InvalidArgumentError(`Invalid filter "${text}": ${why}`);
  for (;;) {
    let not = false;
    if (tokens[i]?.toLowerCase() === 'not') {
      not = true;
      i++;
    }
    const [field, op, value] = [tokens[i], tokens[i + 1]?.toLowerCase(), tokens[i + 2]];
    if (field === undefined || op === undefined || value === undefined) throw bad('expected <field> eq|ne <value>');
    if (op !== 'eq' && op !== 'ne') throw bad(`unknown operator "${tokens[i + 1]}" (eq or ne)`);
    groups[groups.length - 1].push({ not, field, op, value });
    i += 3;
    if (i >= tokens.length) break;
    const join = tokens[i].toLowerCase();
    if (join === 'or') groups.push([]);
    else if (join !== 'and') throw bad(`expected "and" or "or", got "${tokens[i]}"`);
    i++;
  }
  return groups;
}

/** True when `object` (a rendered instance) matches. */
export function matchesFilter(object: unknown, filter: Filter | undefined): boolean {
  if (!filter) return true;
  return filter.some((group) => group.every((term) => matchesTerm(object, term)));
}

function matchesTerm(object: unknown, t: Term): boolean {
  const actual = lookup(object, t.field);
  const caseless = t.field === 'status';
  const equal = actual !== undefined && (caseless ? actual.toLowerCase() === t.value.toLowerCase() : actual === t.value);
  const result = t.op === 'eq' ? equal : !equal;
  return t.not ? !result : result;
}

/** The field as text: walks objects by the longest key that matches at each level. */
function lookup(object: unknown, path: string): string | undefined {
  let current: unknown = object;
  let rest = path;
  while (rest !== '') {
    if (typeof current !== 'object' || current === null) return undefined;
    const map = current as Record<string, unknown>;
    const parts = rest.split('.');
    let found = false;
    for (let n = parts.length; n > 0; n--) {
      const key = parts.slice(0, n).join('.');
      if (Object.prototype.hasOwnProperty.call(map, key)) {
        current = map[key];
        rest = parts.slice(n).join('.');
        found = true;
        break;
      }
    }
    if (!found) return undefined;
  }
  if (current === null || current === undefined || typeof current === 'object') return undefined;
  return String(current);
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const re = /\s*(?:"([^"]*)"|'([^']*)'|(\S+))/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0].trim() === '') break;
    tokens.push(m[1] ?? m[2] ?? m[3]);
  }
  return tokens;
}
