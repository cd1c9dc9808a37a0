import { describe, expect, it } from 'vitest';
import { expectContains, expectEqual, expectNotContains } from './fastExpect.testkit.ts';

describe('expectEqual', () => {
  it('passes on deep-strictly equal values without vitest', () => {
    expect(() => expectEqual({ a: [1, { b: 'x' }] }, { a: [1, { b: 'x' }] }, 'same')).not.toThrow();
  });

  it('leaves what only toEqual accepts to toEqual', () => {
    // Not deep-strictly equal (an undefined property; a class instance against a plain object), equal to toEqual.
    expect(() => expectEqual({ a: 1, b: undefined }, { a: 1 }, 'undefined property')).not.toThrow();
    class Point {
      readonly x: number;
      constructor(x: number) {
        this.x = x;
      }
    }
    expect(() => expectEqual(new Point(1), { x: 1 }, 'prototype')).not.toThrow();
  });

  it('fails on a difference, with the label and vitest diff', () => {
    expect(() => expectEqual({ keys: ['K1'] }, { keys: ['K2'] }, "alice's replica")).toThrow(
      /alice's replica[\s\S]*K2[\s\S]*K1|alice's replica[\s\S]*K1[\s\S]*K2/,
    );
    expect(() => expectEqual(0, -0, 'zero')).toThrow(/zero/); // as toEqual, which tells +0 from -0
    expect(() => expectEqual(1, 2, 'numbers')).toThrow(/numbers/);
  });
});

describe('expectContains and expectNotContains', () => {
  it('pass and fail as toContain does, with the label', () => {
    expect(() => expectContains(['a', 'b'], 'b')).not.toThrow();
    // As toContain (chai's include: strict equality), NaN is in no list, and +0 is -0.
    expect(() => expectContains([Number.NaN], Number.NaN)).toThrow();
    expect(() => expect([Number.NaN]).toContain(Number.NaN)).toThrow();
    expect(() => expectNotContains([Number.NaN], Number.NaN)).not.toThrow();
    expect(() => expectContains([0], -0)).not.toThrow();
    expect(() => expectContains(['a'], 'c', 'members')).toThrow(/members[\s\S]*'c'/);
    expect(() => expectNotContains(['a', 'b'], 'c')).not.toThrow();
    expect(() => expectNotContains(['active'], 'active', 'K1 live again')).toThrow(/K1 live again/);
  });
});
