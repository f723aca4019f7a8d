import { describe, expect, it } from 'vitest';
import type { IntegrityCheckSpec, IntegrityExpectation } from '../core/process.js';
import { judge } from './integrity-judge.js';

const check = (expect: IntegrityExpectation): IntegrityCheckSpec => ({ id: 'c', query: 'SELECT 1', expect });
const v = (value: string | number | null, rows = 1) => ({ value, rows });

describe('integrity judge', () => {
  it('noDrop: equal or more passes, fewer fails with the drop; PostgreSQL counts arrive as strings', () => {
    expect(judge(check({ kind: 'noDrop' }), v(10), v(12)).ok).toBe(true);
    expect(judge(check({ kind: 'noDrop' }), v('10'), v('10')).ok).toBe(true);
    const dropped = judge(check({ kind: 'noDrop' }), v('10'), v('7'));
    expect(dropped).toMatchObject({ ok: false, text: 'c (noDrop): 10 → 7, dropped by 3' });
  });

  it('unchanged compares exactly, as text', () => {
    expect(judge(check({ kind: 'unchanged' }), v('12.50'), v('12.50')).ok).toBe(true);
    expect(judge(check({ kind: 'unchanged' }), v('abc'), v('abd')).text).toBe(
      'c (unchanged): abc → abd, changed',
    );
  });

  it('empty counts rows; range checks bounds after', () => {
    expect(judge(check({ kind: 'empty' }), null, v(null, 0)).ok).toBe(true);
    expect(judge(check({ kind: 'empty' }), null, v(5, 2)).text).toBe('c (empty): 2 rows, expected none');
    expect(judge(check({ kind: 'range', min: 1, max: 5 }), null, v(6)).text).toBe(
      'c (min 1, max 5): not measured → 6, out of bounds',
    );
    expect(judge(check({ kind: 'range', min: 1 }), null, v('x')).ok).toBe(false);
  });

  it('no value before (a first deployment) is not a violation; a query failing after is', () => {
    expect(judge(check({ kind: 'noDrop' }), { error: 'no such table: notes' }, v(3)).ok).toBe(true);
    const failed = judge(check({ kind: 'noDrop' }), v(3), { error: 'no such table: notes' });
    expect(failed).toMatchObject({ ok: false, text: 'c (noDrop): the query failed: no such table: notes' });
  });
});
