/**
 * The devices of test deployments. Test support only.
 * @module
 */
import { ADMIN_PIN, TEST_MANUFACTURER, USER_PIN } from '../../device/secube.testkit.ts';
import type { DeviceFactory } from './deployment.ts';

/** The test devices: the test kit's PINs and manufacturer, 10 PBKDF2 iterations to keep runs fast. */
export const TEST_DEVICES: DeviceFactory = {
  userPin: USER_PIN,
  adminPin: ADMIN_PIN,
  manufacturer: TEST_MANUFACTURER,
  pinIterations: 10,
};
