import { describe, expect, test } from 'vitest';
import { DeviceError, isDeviceError } from '../../device/deviceError.ts';
import { SyncStalledError } from './syncStalledError.ts';

describe('SyncStalledError', () => {
  const full = new DeviceError('StoreFull', 'no free slot for key 2003');

  test("is the device's StoreFull, with the sync's report and what it applied in its message", () => {
    const report = {
      applied: [4, 5],
      refused: [],
      held: [],
      blocked: false,
      sequence: 5,
      unacknowledged: null,
      writtenSince: [],
    };
    const error = new SyncStalledError(full, report);
    expect(isDeviceError(error, 'StoreFull')).toBe(true);
    expect(error.report).toBe(report);
    expect(error.message).toBe(
      'StoreFull: no free slot for key 2003; this sync: update #4, #5 applied (the replica is at update #5), ' +
        'their HSM work owed; nothing is acknowledged until the work is done',
    );
  });

  test('says so when the sync applied nothing new (only work owed from before)', () => {
    const error = new SyncStalledError(full, {
      applied: [],
      refused: [],
      held: [],
      blocked: false,
      sequence: 3,
      unacknowledged: null,
      writtenSince: [],
    });
    expect(error.message).toBe(
      'StoreFull: no free slot for key 2003; this sync: no new update file was applied (the replica is at ' +
        'update #3); nothing is acknowledged until the work is done',
    );
  });
});
