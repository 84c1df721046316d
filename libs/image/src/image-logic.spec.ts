import { InvalidArgumentError } from '@lodge/common';
import { climbsOut, EntryChecker, splitMember } from './archive';
import { parseMetadata } from './metadata';
import { renderTemplate } from './template-engine';
import { templateContext } from './templates';

describe('metadata.yaml', () => {
  it('parses the fields and template rules', () => {
    const m = parseMetadata(`architecture: x86_64\ncreation_date: 1700000000\nexpiry_date: 1800000000\nproperties: {os: busybox, release: 1.35}\ntemplates:\n  /etc/hostname:\n    when: [create, copy]\n    template: hostname.tpl\n    create_only: true\n    properties: {a: b}\n    mode: "0600"\n`);
    expect(m).toEqual({
      architecture: 'x86_64',
      creation_date: 1700000000,
      expiry_date: 1800000000,
      properties: { os: 'busybox', release: '1.35' },
      templates: { '/etc/hostname': { when: ['create', 'copy'], template: 'hostname.tpl', create_only: true, properties: { a: 'b' }, mode: 0o600 } },
    });
  });

  it.each([
    ['', /must be a YAML mapping/],
    ['architecture: x86_64', /creation_date/],
    ['creation_date: 1', /architecture/],
    ['architecture: [', /not valid YAML/],
    ['architecture: x86_64\ncreation_date: -3', /seconds since the epoch/],
    ['architecture: x86_64\ncreation_date: 1\ntemplates: {"etc/x": {template: a, when: [create]}}', /must be absolute/],
    ['architecture: x86_64\ncreation_date: 1\ntemplates: {"/etc/x": {template: ../a, when: [create]}}', /must name a file/],
    ['architecture: x86_64\ncreation_date: 1\ntemplates: {"/etc/x": {template: a, when: [boot]}}', /"when" must list/],
  ])('refuses %j', (text, re) => {
    expect(() => parseMetadata(text)).toThrow(InvalidArgumentError);
    expect(() => parseMetadata(text)).toThrow(re);
  });
});

describe('pongo2 subset', () => {
  const ctx = templateContext({ name: 'c1', config: { 'user.foo': 'bar', 'user.empty': '' } }, 'start', '/etc/hostname', { p: 'q' });
  it.each([
    ['{{ container.name }}\n', 'c1\n'],
    ['{{ instance.name }}', 'c1'],
    ['{{ config_get("user.foo", "d") }}/{{ config_get("user.none", "d") }}', 'bar/d'],
    ['{{ properties.p }}{{ properties.missing }}', 'q'],
    ['{% if trigger == "start" %}S{% else %}X{% endif %}', 'S'],
    ['{% if config_get("user.empty", "") == "" %}empty{% elif true %}no{% endif %}', 'empty'],
    ['{% if not container.privileged and "foo" in "xfoox" %}y{% endif %}', 'y'],
    ['a\n{%- if true -%}\n  b\n{%- endif %}', 'ab'],
    ['{# hidden #}{{ config["user.foo"]|upper }}{{ nothing|default:"dflt" }}', 'BARdflt'],
    ['{{ container.privileged }}', 'False'],
  ])('%j', (src, want) => {
    expect(renderTemplate(src, ctx)).toBe(want);
  });
  it.each(['{% for x in y %}{% endfor %}', '{{ a|nosuch }}', '{% if a %}', '{{ a', '{{ "x }}'])('refuses %j', (src) => {
    expect(() => renderTemplate(src, ctx)).toThrow(InvalidArgumentError);
  });
});

describe('archive entry rules', () => {
  const h = (name: string, type = 'file', linkname = '') => ({ name, type, linkname, size: 0 }) as never;
  it('splits member names and refuses absolute and ..', () => {
    expect(splitMember('./rootfs//etc/./x', 'e')).toEqual(['rootfs', 'etc', 'x']);
    expect(() => splitMember('/etc/passwd', 'e')).toThrow(/absolute path/);
    expect(() => splitMember('rootfs/../../x', 'e')).toThrow(/contains ".."/);
  });
  it('tells relative symlinks that climb out', () => {
    expect(climbsOut(['usr', 'bin'], '../../bin/busybox')).toBe(false);
    expect(climbsOut(['usr', 'bin'], '../../../etc')).toBe(true);
    expect(climbsOut([], 'a/../../b')).toBe(true);
  });
  it('follows symlinks and hardlinks in order', () => {
    const c = new EntryChecker('unified');
    c.check(h('rootfs/', 'directory'));
    c.check(h('rootfs/abs', 'symlink', '/etc'));
    expect(() => c.check(h('rootfs/abs/passwd'))).toThrow(/written through the symlink "abs"/);
    c.check(h('rootfs/file'));
    c.check(h('rootfs/hl', 'link', 'rootfs/file'));
    c.check(h('rootfs/hl2', 'link', 'rootfs/abs'));
    expect(() => c.check(h('rootfs/hl2/x'))).toThrow(/through the symlink "hl2"/);
    expect(() => c.check(h('rootfs/out', 'link', 'metadata.yaml'))).toThrow(/points out of the rootfs/);
    expect(() => c.check(h('rootfs/later', 'link', 'rootfs/nothing'))).toThrow(/not an earlier entry/);
    c.check(h('rootfs/dev/null', 'character-device'));
    expect(() => c.check(h('templates/null', 'character-device'))).toThrow(/device node "templates\/null" outside the rootfs/);
    expect(() => c.check(h('templates/l', 'symlink', 'x'))).toThrow(/outside the rootfs/);
    expect(() => c.result()).toThrow(/no metadata.yaml/);
  });
});
