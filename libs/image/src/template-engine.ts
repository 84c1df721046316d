/**
 * The subset of pongo2 (Django-style) templates that LXD image templates use:
 *   {{ expr }}  {{ expr|default:"x" }}  {% if expr %}..{% elif expr %}..{% else %}..{% endif %}
 *   {# comment #}, "-" whitespace control ({%- -%}, {{- -}})
 * Expressions: dotted names (container.name, properties.foo, config["user.x"]), string and number
 * literals, true/false/none, function calls (config_get("key", "default")), == != < > <= >=,
 * and/or/not, "in", parentheses. Filters: default, lower, upper, capfirst, title, trim, length.
 * Unknown names render empty, as pongo2 does; unknown tags/filters are errors.
 */
import { InvalidArgumentError } from '@lodge/common';

export type TemplateValue = string | number | boolean | null | undefined | TemplateValue[] | { [k: string]: TemplateValue } | TemplateFunction;
export type TemplateFunction = (...args: TemplateValue[]) => TemplateValue;
export type TemplateContext = Record<string, TemplateValue>;

type Node =
  | { t: 'text'; v: string }
  | { t: 'out'; e: Expr }
  | { t: 'if'; branches: Array<{ cond: Expr; body: Node[] }>; otherwise: Node[] };

type Expr =
  | { t: 'lit'; v: TemplateValue }
  | { t: 'name'; v: string }
  | { t: 'attr'; o: Expr; k: Expr }
  | { t: 'call'; f: Expr; args: Expr[] }
  | { t: 'not'; e: Expr }
  | { t: 'bin'; op: string; l: Expr; r: Expr }
  | { t: 'filter'; e: Expr; name: string; arg?: Expr };

export function renderTemplate(source: string, context: TemplateContext, name = 'template'): string {
  const nodes = parseTemplate(source, name);
  return renderNodes(nodes, context, name);
}

// ------------------------------------------------------------------ lexing of tags

interface Tag {
  kind: 'text' | 'out' | 'stmt';
  body: string;
}

function splitTags(src: string, name: string): Tag[] {
  const out: Tag[] = [];
  let i = 0;
  let trimNextLeft = false;
  const re = /\{\{|\{%|\{#/g;
  while (i < src.length) {
    re.lastIndex = i;
    const m = re.exec(src);
    let text = m ? src.slice(i, m.index) : src.slice(i);
    if (trimNextLeft) text = text.replace(/^\s+/, '');
    trimNextLeft = false;
    if (!m) {
      if (text) out.push({ kind: 'text', body: text });
      break;
    }
    const close = m[0] === '{{' ? '}}' : m[0] === '{%' ? '%}' : '#}';
    const end = src.indexOf(close, m.index + 2);
    if (end < 0) throw err(name, `unclosed "${m[0]}"`);
    let inner = src.slice(m.index + 2, end);
    if (inner.startsWith('-')) {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    if (inner.endsWith('-')) {
      trimNextLeft = true;
      inner = inner.slice(0, -1);
    }
    if (text) out.push({ kind: 'text', body: text });
    if (m[0] === '{{') out.push({ kind: 'out', body: inner.trim() });
    else if (m[0] === '{%') out.push({ kind: 'stmt', body: inner.trim() });
    i = end + 2;
  }
  return out;
}

// ------------------------------------------------------------------ parsing

export function parseTemplate(src: string, name = 'template'): Node[] {
  const tags = splitTags(src, name);
  let pos = 0;
  const block = (ends: string[]): { nodes: Node[]; end?: string; rest?: string } => {
    const nodes: Node[] = [];
    while (pos < tags.length) {
      const tag = tags[pos++];
      if (tag.kind === 'text') nodes.push({ t: 'text', v: tag.body });
      else if (tag.kind === 'out') nodes.push({ t: 'out', e: parseExpr(tag.body, name) });
      else {
        const kw = tag.body.split(/\s+/)[0];
        const rest = tag.body.slice(kw.length).trim();
        if (ends.includes(kw)) return { nodes, end: kw, rest };
        if (kw !== 'if') throw err(name, `unsupported tag "{% ${kw} %}"`);
        const branches: Array<{ cond: Expr; body: Node[] }> = [];
        let otherwise: Node[] = [];
        let cond = parseExpr(rest, name);
        for (;;) {
          const b = block(['elif', 'else', 'endif']);
          if (!b.end) throw err(name, 'missing {% endif %}');
          branches.push({ cond, body: b.nodes });
          if (b.end === 'elif') {
            cond = parseExpr(b.rest ?? '', name);
            continue;
          }
          if (b.end === 'else') {
            const e = block(['endif']);
            if (!e.end) throw err(name, 'missing {% endif %}');
            otherwise = e.nodes;
          }
          break;
        }
        nodes.push({ t: 'if', branches, otherwise });
      }
    }
    return { nodes };
  };
  const top = block([]);
  return top.nodes;
}

type Tok = { k: 'str' | 'num' | 'id' | 'op'; v: string };

function tokenize(s: string, name: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let v = '';
      while (j < s.length && s[j] !== c) {
        if (s[j] === '\\' && j + 1 < s.length) {
          const n = s[++j];
          v += n === 'n' ? '\n' : n === 't' ? '\t' : n;
        } else v += s[j];
        j++;
      }
      if (j >= s.length) throw err(name, `unterminated string in "${s}"`);
      out.push({ k: 'str', v });
      i = j + 1;
      continue;
    }
    const num = /^\d+(\.\d+)?/.exec(s.slice(i));
    if (num) {
      out.push({ k: 'num', v: num[0] });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i));
    if (id) {
      out.push({ k: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    const op = /^(==|!=|<=|>=|&&|\|\||[<>.()[\],|:!])/.exec(s.slice(i));
    if (!op) throw err(name, `unexpected "${c}" in "${s}"`);
    out.push({ k: 'op', v: op[0] });
    i += op[0].length;
  }
  return out;
}

function parseExpr(src: string, name: string): Expr {
  if (!src) throw err(name, 'empty expression');
  const toks = tokenize(src, name);
  let p = 0;
  const peek = () => toks[p];
  const isOp = (v: string) => toks[p]?.k === 'op' && toks[p].v === v;
  const isKw = (v: string) => toks[p]?.k === 'id' && toks[p].v === v;
  const expect = (v: string) => {
    if (!isOp(v)) throw err(name, `expected "${v}" in "${src}"`);
    p++;
  };
  const or = (): Expr => {
    let l = and();
    while (isKw('or') || isOp('||')) {
      p++;
      l = { t: 'bin', op: 'or', l, r: and() };
    }
    return l;
  };
  const and = (): Expr => {
    let l = not();
    while (isKw('and') || isOp('&&')) {
      p++;
      l = { t: 'bin', op: 'and', l, r: not() };
    }
    return l;
  };
  const not = (): Expr => {
    if (isKw('not') || isOp('!')) {
      p++;
      return { t: 'not', e: not() };
    }
    return cmp();
  };
  const cmp = (): Expr => {
    const l = filtered();
    for (const op of ['==', '!=', '<=', '>=', '<', '>']) {
      if (isOp(op)) {
        p++;
        return { t: 'bin', op, l, r: filtered() };
      }
    }
    if (isKw('in')) {
      p++;
      return { t: 'bin', op: 'in', l, r: filtered() };
    }
    return l;
  };
  const filtered = (): Expr => {
    let e = postfix();
    while (isOp('|')) {
      p++;
      const f = peek();
      if (f?.k !== 'id') throw err(name, `expected a filter name in "${src}"`);
      p++;
      let arg: Expr | undefined;
      if (isOp(':')) {
        p++;
        arg = postfix();
      }
      if (!FILTERS[f.v]) throw err(name, `unsupported filter "${f.v}"`);
      e = { t: 'filter', e, name: f.v, arg };
    }
    return e;
  };
  const postfix = (): Expr => {
    let e = primary();
    for (;;) {
      if (isOp('.')) {
        p++;
        const k = peek();
        if (k?.k !== 'id' && k?.k !== 'num') throw err(name, `expected a name after "." in "${src}"`);
        p++;
        e = { t: 'attr', o: e, k: { t: 'lit', v: k.v } };
      } else if (isOp('[')) {
        p++;
        const k = or();
        expect(']');
        e = { t: 'attr', o: e, k };
      } else if (isOp('(')) {
        p++;
        const args: Expr[] = [];
        if (!isOp(')')) {
          args.push(or());
          while (isOp(',')) {
            p++;
            args.push(or());
          }
        }
        expect(')');
        e = { t: 'call', f: e, args };
      } else return e;
    }
  };
  const primary = (): Expr => {
    const t = peek();
    if (!t) throw err(name, `unexpected end of "${src}"`);
    p++;
    if (t.k === 'str') return { t: 'lit', v: t.v };
    if (t.k === 'num') return { t: 'lit', v: Number(t.v) };
    if (t.k === 'id') {
      if (t.v === 'true' || t.v === 'True') return { t: 'lit', v: true };
      if (t.v === 'false' || t.v === 'False') return { t: 'lit', v: false };
      if (t.v === 'none' || t.v === 'None' || t.v === 'nil') return { t: 'lit', v: null };
      return { t: 'name', v: t.v };
    }
    if (t.v === '(') {
      const e = or();
      expect(')');
      return e;
    }
    throw err(name, `unexpected "${t.v}" in "${src}"`);
  };
  const e = or();
  if (p !== toks.length) throw err(name, `unexpected "${toks[p].v}" in "${src}"`);
  return e;
}

// ------------------------------------------------------------------ evaluation

const FILTERS: Record<string, (v: TemplateValue, arg: TemplateValue) => TemplateValue> = {
  default: (v, arg) => (truthy(v) ? v : arg),
  lower: (v) => str(v).toLowerCase(),
  upper: (v) => str(v).toUpperCase(),
  capfirst: (v) => str(v).charAt(0).toUpperCase() + str(v).slice(1),
  title: (v) => str(v).replace(/\b\w/g, (c) => c.toUpperCase()),
  trim: (v) => str(v).trim(),
  length: (v) => (Array.isArray(v) ? v.length : typeof v === 'object' && v ? Object.keys(v).length : str(v).length),
};

function renderNodes(nodes: Node[], ctx: TemplateContext, name: string): string {
  let out = '';
  for (const n of nodes) {
    if (n.t === 'text') out += n.v;
    else if (n.t === 'out') out += str(evaluate(n.e, ctx, name));
    else {
      const hit = n.branches.find((b) => truthy(evaluate(b.cond, ctx, name)));
      out += renderNodes(hit ? hit.body : n.otherwise, ctx, name);
    }
  }
  return out;
}

function evaluate(e: Expr, ctx: TemplateContext, name: string): TemplateValue {
  switch (e.t) {
    case 'lit':
      return e.v;
    case 'name':
      return Object.prototype.hasOwnProperty.call(ctx, e.v) ? ctx[e.v] : undefined;
    case 'attr': {
      const o = evaluate(e.o, ctx, name);
      const k = str(evaluate(e.k, ctx, name));
      if (o === null || o === undefined || typeof o !== 'object') return undefined;
      if (Array.isArray(o)) return o[Number(k)];
      return Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
    }
    case 'call': {
      const f = evaluate(e.f, ctx, name);
      if (typeof f !== 'function') throw err(name, 'call of something that is not a function');
      return f(...e.args.map((a) => evaluate(a, ctx, name)));
    }
    case 'not':
      return !truthy(evaluate(e.e, ctx, name));
    case 'filter':
      return FILTERS[e.name](evaluate(e.e, ctx, name), e.arg ? evaluate(e.arg, ctx, name) : undefined);
    case 'bin': {
      if (e.op === 'and') return truthy(evaluate(e.l, ctx, name)) && truthy(evaluate(e.r, ctx, name));
      if (e.op === 'or') return truthy(evaluate(e.l, ctx, name)) || truthy(evaluate(e.r, ctx, name));
      const l = evaluate(e.l, ctx, name);
      const r = evaluate(e.r, ctx, name);
      switch (e.op) {
        case '==':
          return same(l, r);
        case '!=':
          return !same(l, r);
        case 'in':
          if (Array.isArray(r)) return r.some((x) => same(x, l));
          if (r && typeof r === 'object') return Object.prototype.hasOwnProperty.call(r, str(l));
          return str(r).includes(str(l));
        default: {
          const [a, b] = typeof l === 'number' && typeof r === 'number' ? [l, r] : [str(l), str(r)];
          return e.op === '<' ? a < b : e.op === '>' ? a > b : e.op === '<=' ? a <= b : a >= b;
        }
      }
    }
  }
}

function same(a: TemplateValue, b: TemplateValue): boolean {
  if ((a === undefined || a === null) && (b === undefined || b === null)) return true;
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (typeof a === 'boolean' || typeof b === 'boolean') return a === b;
  return str(a) === str(b);
}

function truthy(v: TemplateValue): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === 'object') return Object.keys(v).length > 0;
  return !!v;
}

/** How pongo2 prints values: nil is empty, booleans are True/False. */
function str(v: TemplateValue): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'function') return '';
  if (typeof v === 'object') return Array.isArray(v) ? `[${v.map(str).join(' ')}]` : JSON.stringify(v);
  return String(v);
}

function err(name: string, msg: string): InvalidArgumentError {
  return new InvalidArgumentError(`template "${name}": ${msg}`);
}
