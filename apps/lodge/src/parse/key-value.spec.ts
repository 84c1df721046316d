import { parseKeyValue, parseKeyValues, parseSetArgs } from './key-value';

describe('key=value arguments', () => {
  it('splits at the first =, keeping = and spaces in the value', () => {
    expect(parseKeyValue('user.a=b=c d')).toEqual(['user.a', 'b=c d']);
    expect(parseKeyValue('limits.memory=')).toEqual(['limits.memory', '']);
  });

  it('refuses a pair without a key or without =', () => {
    expect(() => parseKeyValue('novalue')).toThrow('Bad key=value pair: "novalue"');
    expect(() => parseKeyValue('=x')).toThrow('Bad key=value pair: "=x"');
  });

  it('later pairs win', () => {
    expect(parseKeyValues(['a=1', 'b=2', 'a=3'])).toEqual({ a: '3', b: '2' });
  });

  it('config set takes KEY VALUE or KEY=VALUE...', () => {
    expect(parseSetArgs(['user.a', 'x=y'])).toEqual({ 'user.a': 'x=y' });
    expect(parseSetArgs(['user.a=1'])).toEqual({ 'user.a': '1' });
    expect(parseSetArgs(['user.a=1', 'user.b=2'])).toEqual({ 'user.a': '1', 'user.b': '2' });
    expect(() => parseSetArgs([])).toThrow('Missing key to set');
    expect(() => parseSetArgs(['a', 'b', 'c'])).toThrow('Bad key=value pair: "a"');
  });
});
