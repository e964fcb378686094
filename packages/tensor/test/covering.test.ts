import { describe, expect, it } from 'vitest';
import { eachOnce, missingPairs, pairwise } from './helpers.js';

describe('covering arrays for test cases', () => {
  it('pairwise covers every pair of values of any two factors, in few rows, the same rows every time', () => {
    const factors = { variant: ['a', 'b', 'c'], layout: ['nn', 'nt', 'tn', 'tt'], shape: [1, 2, 3], bias: [false, true], relu: [false, true], mask: [false, true] };
    const rows = pairwise(factors);
    expect(missingPairs(factors, rows)).toEqual([]);
    expect(rows.length).toBeGreaterThanOrEqual(12);
    expect(rows.length).toBeLessThanOrEqual(16);
    expect(pairwise(factors)).toEqual(rows);
    expect(rows.every((r) => Object.entries(factors).every(([name, values]) => values.includes(r[name as keyof typeof r] as never)))).toBe(true);
  });

  it('pairwise of one factor lists its values; of one-valued factors, one row; an empty factor is refused', () => {
    expect(pairwise({ x: [1, 2, 3] })).toEqual([{ x: 1 }, { x: 2 }, { x: 3 }]);
    expect(pairwise({ x: [1], y: ['a'] })).toEqual([{ x: 1, y: 'a' }]);
    expect(() => pairwise({ x: [1], y: [] })).toThrow(/pairwise: factor 'y' has no values/);
  });

  it('eachOnce gives every value of every factor in as many rows as the largest factor', () => {
    const rows = eachOnce({ shape: [1, 2, 3, 4, 5], variant: ['a', 'b', 'c'] });
    expect(rows.length).toBe(5);
    expect(new Set(rows.map((r) => r.shape)).size).toBe(5);
    expect(new Set(rows.map((r) => r.variant))).toEqual(new Set(['a', 'b', 'c']));
  });
});
