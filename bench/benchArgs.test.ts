import { describe, expect, test } from 'vitest';
import { UsageError } from '../impl/cli/args.ts';
import { benchUsage, parseBenchArgs } from './benchArgs.ts';
import type { BenchModule } from './benchModule.ts';
import { BENCHES as REGISTERED } from './benches.ts';
import { MUTATION_USAGE, parseMutationArgs } from './mutationArgs.ts';

const bench = (name: string): BenchModule => ({
  name,
  section: 'x',
  summary: `what ${name} measures`,
  run: () => Promise.reject(new Error('not run here')),
});
const BENCHES = [bench('key-store-wear'), bench('device-wear'), bench('throughput')];

describe('npm run bench: the command line', () => {
  test('no arguments: every bench, full size', () => {
    expect(parseBenchArgs([], BENCHES)).toEqual({ help: false, quick: false, benches: BENCHES });
  });

  test('names select benches, in the registered order; --quick anywhere', () => {
    const request = parseBenchArgs(['throughput', '--quick', 'key-store-wear'], BENCHES);
    expect(request).toEqual({ help: false, quick: true, benches: [BENCHES[0], BENCHES[2]] });
  });

  test('--help and -h win over everything else, even a wrong option', () => {
    expect(parseBenchArgs(['--quik', '--help'], BENCHES)).toEqual({ help: true });
    expect(parseBenchArgs(['-h'], BENCHES)).toEqual({ help: true });
  });

  test('a misspelt option or bench is a usage error, with the nearest name', () => {
    expect(() => parseBenchArgs(['--quik'], BENCHES)).toThrow(UsageError);
    expect(() => parseBenchArgs(['--quik'], BENCHES)).toThrow(/unknown option '--quik'.*--quick/);
    expect(() => parseBenchArgs(['troughput'], BENCHES)).toThrow(/unknown bench 'troughput'.*throughput/);
    expect(() => parseBenchArgs(['--quick=yes'], BENCHES)).toThrow(/--quick takes no value/);
  });

  test('the usage lists every bench with its summary, and examples', () => {
    const usage = benchUsage(BENCHES);
    for (const b of BENCHES) expect(usage).toMatch(new RegExp(`^  ${b.name} +${b.summary}$`, 'm'));
    expect(usage).toMatch(/^Examples$/m);
  });

  test('every example of the real usage parses, and names only registered benches', () => {
    const examples = benchUsage(REGISTERED)
      .split('\n')
      .filter((line) => line.startsWith('  npm run bench -- '))
      .map((line) => line.slice('  npm run bench -- '.length).split(' '));
    expect(examples.length).toBeGreaterThanOrEqual(3);
    for (const argv of examples) expect(() => parseBenchArgs(argv, REGISTERED)).not.toThrow();
    expect(REGISTERED.every((b) => /^[a-z]+(-[a-z]+)*$/.test(b.name) && b.summary.length > 0)).toBe(true);
  });
});

describe('npm run mutation: the command line', () => {
  test('no arguments: both scopes, Stryker runs', () => {
    expect(parseMutationArgs([])).toEqual({
      help: false,
      reportOnly: false,
      timedApart: undefined,
      selected: ['model', 'impl'],
    });
  });

  test('--report-only with a running time, one scope', () => {
    expect(parseMutationArgs(['--report-only', '--running-seconds=1200', 'impl'])).toEqual({
      help: false,
      reportOnly: true,
      timedApart: '1200',
      selected: ['impl'],
    });
  });

  test('a misspelt --report-only is refused before Stryker could start', () => {
    expect(() => parseMutationArgs(['--report-onyl'])).toThrow(/unknown option '--report-onyl'.*--report-only/);
    expect(() => parseMutationArgs(['modle'])).toThrow(/unknown scope 'modle'.*model/);
  });

  test('--running-seconds needs --report-only and a positive number', () => {
    expect(() => parseMutationArgs(['--running-seconds=60'])).toThrow(UsageError);
    expect(() => parseMutationArgs(['--report-only', '--running-seconds=0'])).toThrow(/positive/);
    expect(() => parseMutationArgs(['--report-only', '--running-seconds=soon'])).toThrow(/positive/);
  });

  test('--help', () => {
    expect(parseMutationArgs(['model', '--help'])).toEqual({ help: true });
    expect(MUTATION_USAGE).toMatch(/^Examples$/m);
  });
});
