import { describe, expect, test } from 'vitest';
import { UNRECORDED_HSMS_NAMED, describeAhead, describeUnrecordedHsms } from './acknowledgementLines.ts';

describe('describeAhead', () => {
  test('names the HSM, what it applied and what the database published, and the remedy', () => {
    const [line] = describeAhead([{ userId: 'U1', serial: 'SE-7', published: 2, acknowledged: 3, inService: true }]);
    expect(line).toBe(
      "warning: U1's HSM SE-7 acknowledged update #3, which this admin database never published (its last to U1 " +
        'is #2): the admin HSM was restored from a backup, and SE-7 holds keys this database lost, under numbers ' +
        'it gives to other keys. Nothing more is published to it: provision a new HSM (sekey admin provision U1), ' +
        'factory-reset SE-7, then sekey admin forget-hsm SE-7 --destroyed',
    );
  });

  test('an acknowledgement under a published number is said to be of another file; none published is said so', () => {
    const lines = describeAhead([
      { userId: 'U2', serial: 'SE-8', published: 3, acknowledged: 3, inService: true },
      { userId: 'U3', serial: 'SE-9', published: 0, acknowledged: 4, inService: false },
    ]);
    expect(lines[0]).toContain('never published (its #3 to U2 is another file)');
    expect(lines[1]).toContain('never published (it published none)');
    // Its user deleted since: no new HSM to provision, only the old one to reset.
    expect(lines[1]).toContain('published to it: factory-reset SE-9 (it served U3, since deleted), then');
    expect(describeAhead([])).toEqual([]);
  });

  test('one no collection recorded yet: publication to it is held only once one does, and said so', () => {
    const found = { userId: 'U1', serial: 'SE-7', published: 2, acknowledged: 3, inService: true };
    const other = { ...found, userId: 'U2', serial: 'SE-8' };
    const [line, recorded] = describeAhead([found, other], [{ ...found }]);
    expect(line).toContain(
      'other keys. Nothing more is published to it once a collection records this (sekey admin collect-acks, or ' +
        "the next sekey admin publish); until then a change's own publication still sends it files it cannot use: " +
        'provision a new HSM (sekey admin provision U1)',
    );
    expect(recorded).toContain('other keys. Nothing more is published to it: provision a new HSM');
  });
});

describe('describeUnrecordedHsms', () => {
  const hsm = (i: number) => ({ userId: `U${i}`, serial: `SE-${i}`, sequence: i, name: `00000000000${i}.ack` });

  test('names each HSM, with the file, both readings and the remedy', () => {
    const [line] = describeUnrecordedHsms([hsm(2)]);
    expect(line).toMatch(
      /^warning: acks\/U2\/000000000002\.ack on the share is an acknowledgement from U2's HSM SE-2,/,
    );
    expect(line).toContain('factory-reset it, then provision it again (sekey admin provision U2)');
    expect(line).toContain('someone who can write the share made the file up');
  });

  test('names a few, then counts the rest: anyone who can write the share can make them', () => {
    const lines = describeUnrecordedHsms([1, 2, 3, 4, 5].map(hsm));
    expect(lines).toHaveLength(UNRECORDED_HSMS_NAMED + 1);
    expect(lines.slice(0, UNRECORDED_HSMS_NAMED).map((l) => /HSM (SE-\d)/.exec(l)?.[1])).toEqual([
      'SE-1',
      'SE-2',
      'SE-3',
    ]);
    expect(lines.at(-1)).toBe(
      'warning: and 2 more HSMs this admin database has no record of left acknowledgements on the share ' +
        '(sekey admin collect-acks --json lists them)',
    );
    expect(describeUnrecordedHsms([1, 2, 3, 4].map(hsm)).at(-1)).toContain('and 1 more HSM this');
    expect(describeUnrecordedHsms([])).toEqual([]);
  });
});
