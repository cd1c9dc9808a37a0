/**
 * The db-commit bench measures commits into populated tables: a first version inserted its one row
 * into an otherwise empty `users` table while all the data sat in a filler table, so the pages it
 * changed compressed to almost nothing and flattered ours.
 */
import { expect, test } from 'vitest';
import { COMMIT_KINDS, GROUP_SIZE, measure } from './dbCommit.ts';

test('every commit changes one row of a table that an installation has filled', async () => {
  const r = await measure({ bytes: 256 * 1024, users: 40 }, { quick: true, progress: () => {} });
  expect(r.dbBytes).toBeGreaterThanOrEqual(256 * 1024);
  expect(r.installation.memberships).toBe((40 / 2) * GROUP_SIZE);
  expect(r.commits.map((c) => c.kind)).toEqual([...COMMIT_KINDS]);
  for (const c of r.commits) {
    const rows = c.table === 'keys' ? r.installation.keys : r.installation.memberships;
    // Rows of the same table before the commit: the insert and the update follow one another.
    expect(c.rowsBefore, c.kind).toBeGreaterThanOrEqual(rows);
    expect(c.pagesChanged, c.kind).toBeGreaterThan(0);
    expect(c.ours.bytesWritten, c.kind).toBeGreaterThan(0);
    expect(c.ours.bytesWritten, c.kind).toBeLessThan(c.wholeFile.bytesWritten);
    // The whole image, sealed and written: at least its own bytes reach the card.
    expect(c.wholeFile.bytesWritten, c.kind).toBeGreaterThanOrEqual(c.wholeFile.bytesEncrypted);
  }
});
