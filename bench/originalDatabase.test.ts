import { expect, test } from 'vitest';
import { CycleMeter } from '../device/costModel.ts';
import { OriginalDatabaseModel, changedPages } from './originalDatabase.ts';

const PAGE = 4096;
const image = (pages: number, fill = 0): Uint8Array => new Uint8Array(pages * PAGE).fill(fill);

test('a commit changing one page journals it, then writes it: 7 sectors of 4,096 B', () => {
  const meter = new CycleMeter();
  const model = new OriginalDatabaseModel(meter, 16 * PAGE, PAGE);
  const before = image(4);
  const after = before.slice();
  after[2 * PAGE + 10] = 1;
  expect(changedPages(before, after, PAGE)).toEqual([2]);
  const cost = model.commit(before, after);
  // Journal: the file's header sector; 512 + 4,104 bytes in 3 payload sectors; the first rewritten
  // with the record count. Database: the page's 2 payload sectors.
  expect(cost).toMatchObject({ pagesChanged: 1, pagesJournaled: 1, sectorsWritten: 1 + 3 + 1 + 2 });
  expect(cost.bytesWritten).toBe(7 * 4096);
  expect(cost.bytesEncrypted).toBe((3 + 1 + 2) * 2048);
  expect(cost.cycles).toBeGreaterThan((3 + 1 + 2) * 2048 * 90);
});

test('a page new at the end of the file needs no journal record', () => {
  const model = new OriginalDatabaseModel(new CycleMeter(), 16 * PAGE, PAGE);
  const cost = model.commit(image(2), image(3));
  expect(cost).toMatchObject({ pagesChanged: 1, pagesJournaled: 0, sectorsWritten: 2, bytesWritten: 2 * 4096 });
});
