import { describe, expect, it } from 'vitest';
import { isJsonPath, parseJsonPath, resolveJsonPath } from './json-path.js';

const doc = {
  status: 'ok',
  queue: { depth: 7, 'odd key': true },
  items: [{ id: 'a' }, { id: 'b', tags: ['x', 'y'] }],
  nothing: null,
};

describe('JSON path subset', () => {
  it.each([
    ['$', doc],
    ['$.status', 'ok'],
    ['$.queue.depth', 7],
    ["$.queue['odd key']", true],
    ['$.queue["odd key"]', true],
    ['$.items[1].id', 'b'],
    ['$.items[1].tags[0]', 'x'],
    ['$.nothing', null],
  ])('%s finds its value', (path, value) => {
    expect(resolveJsonPath(doc, path)).toEqual({ found: true, value });
  });

  it.each([
    '$.missing',
    '$.queue.depth.deeper',
    '$.items[2]',
    '$.items.id',
    '$.status[0]',
    '$.constructor',
    '$.queue.toString',
    '$.nothing.x',
  ])('%s is not found (own keys only, no coercion)', (path) => {
    expect(resolveJsonPath(doc, path)).toEqual({ found: false });
  });

  it.each([
    ['status', 'starts with "$"'],
    ['$..status', 'expected a key name after "."'],
    ['$.items[-1]', 'unexpected "["'],
    ['$.items[*]', 'unexpected "["'],
    ['$ status', 'unexpected " "'],
    ["$['unclosed", 'unexpected "["'],
  ])('%s is refused with where it goes wrong', (path, message) => {
    const parsed = parseJsonPath(path);
    expect('error' in parsed && parsed.error).toContain(message);
    expect(isJsonPath(path)).toBe(false);
  });

  it('reads escaped quotes inside brackets', () => {
    expect(parseJsonPath("$['it\\'s']")).toEqual({ segments: ["it's"] });
    expect(resolveJsonPath({ "it's": 1 }, "$['it\\'s']")).toEqual({ found: true, value: 1 });
  });
});
