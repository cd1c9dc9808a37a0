import { describe, expect, test } from 'vitest';
import { asMutationReport, mutationScore, survivors } from './mutationScore.ts';
import type { MutantStatus, MutationReport } from './mutationScore.ts';

const mutant = (id: string, status: MutantStatus, line = 1, mutatorName = 'EqualityOperator') => ({
  id,
  mutatorName,
  status,
  replacement: `r${id}`,
  location: { start: { line, column: 3 } },
});

/** Seven killed, one timed out, one survived, one not covered, one of each invalid kind, two ignored. */
const REPORT: MutationReport = {
  files: {
    'model/b.ts': {
      mutants: [
        ...['1', '2', '3', '4', '5'].map((id) => mutant(id, 'Killed')),
        mutant('6', 'Survived', 9, 'ConditionalExpression'),
        mutant('7', 'Ignored'),
        mutant('8', 'CompileError'),
      ],
    },
    'model/a.ts': {
      mutants: [
        mutant('9', 'Killed'),
        mutant('10', 'Killed'),
        mutant('11', 'Timeout'),
        mutant('12', 'NoCoverage', 4, 'StringLiteral'),
        mutant('13', 'RuntimeError'),
        mutant('14', 'Ignored'),
      ],
    },
  },
};

describe('mutation score of a StrykerJS JSON report', () => {
  test('detected (killed, timed out) over valid (detected, survived, not covered); the rest counted apart', () => {
    expect(mutationScore(REPORT)).toEqual({
      percent: 80,
      killed: 7,
      survived: 1,
      noCoverage: 1,
      timeout: 1,
      compileError: 1,
      runtimeError: 1,
      ignored: 2,
      mutants: 14,
      files: 2,
    });
  });

  test('the percentage keeps two decimals', () => {
    const report = {
      files: { f: { mutants: [mutant('1', 'Killed'), mutant('2', 'Killed'), mutant('3', 'Survived')] } },
    };
    expect(mutationScore(report).percent).toBe(66.67);
  });

  test('survivors by file, then line: survived and not covered only', () => {
    expect(survivors(REPORT)).toEqual([
      { file: 'model/a.ts', line: 4, column: 3, mutator: 'StringLiteral', replacement: 'r12', status: 'NoCoverage' },
      {
        file: 'model/b.ts',
        line: 9,
        column: 3,
        mutator: 'ConditionalExpression',
        replacement: 'r6',
        status: 'Survived',
      },
    ]);
  });

  test('no figure from nothing: no valid mutant, an unfinished run, or a file that is not a report', () => {
    expect(() => mutationScore({ files: { f: { mutants: [mutant('1', 'Ignored')] } } })).toThrow(RangeError);
    expect(() => mutationScore({ files: { f: { mutants: [mutant('1', 'Killed'), mutant('2', 'Pending')] } } })).toThrow(
      RangeError,
    );
    expect(() => asMutationReport({ schemaVersion: '2' })).toThrow(TypeError);
    expect(() => asMutationReport({ files: { f: {} } })).toThrow(TypeError);
    expect(() => asMutationReport({ files: { f: { mutants: [{ status: 'Dead' }] } } })).toThrow(TypeError);
    expect(asMutationReport(REPORT)).toBe(REPORT);
  });
});
