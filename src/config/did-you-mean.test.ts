import { describe, expect, it } from 'vitest';
import { closest, editDistance, suggestionHint } from './did-you-mean.js';

describe('did you mean', () => {
  it('counts edits, a swap of neighbours as one', () => {
    expect(editDistance('timeout', 'timeout')).toBe(0);
    expect(editDistance('timout', 'timeout')).toBe(1);
    expect(editDistance('evn', 'env')).toBe(1);
    expect(editDistance('stagin', 'staging')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('suggests near misses only', () => {
    expect(closest('enviroments', ['environments', 'phases'])).toBe('environments');
    expect(closest('Timeout', ['timeout', 'retries'])).toBe('timeout');
    expect(closest('prod', ['staging', 'production'])).toBeUndefined();
    // Short words need a closer match: "on" is not a typo of "id".
    expect(closest('on', ['id'])).toBeUndefined();
    expect(closest('htpp', ['run', 'http', 'smoke'])).toBe('http');
  });

  it('falls back to listing what is allowed', () => {
    expect(suggestionHint('devop', ['devops', 'qa'], 'declared roles')).toBe('did you mean "devops"?');
    expect(suggestionHint('ops', ['devops', 'qa'], 'declared roles')).toBe('declared roles: devops, qa');
    expect(suggestionHint('x', [], 'declared roles')).toBeUndefined();
  });
});
