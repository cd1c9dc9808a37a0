/**
 * Where a SQLite image's pages go: how many pages each table's and each index's B-tree occupies,
 * and how many are left for the rest (overflow chains, the free list, auto-vacuum's pointer-map
 * pages, the header page's share). sql.js is built without the `dbstat` virtual table, so the bench
 * walks the B-trees itself from their root pages (`sqlite_master.rootpage`).
 *
 * The file format, SQLite "Database File Format" §1.6 (B-tree pages): byte 0 of a page's B-tree
 * header is its type (2 interior index, 5 interior table, 10 leaf index, 13 leaf table), bytes 3–4
 * its number of cells, and an interior page's header is 12 bytes, bytes 8–11 its right-most child;
 * the cell pointer array follows the header, and every interior cell starts with its left child's
 * 4-byte page number. Page 1's B-tree header follows the 100-byte database header.
 * @module
 */

/** Pages per B-tree, by name, and the pages that belong to none of them. */
export interface PageBreakdown {
  readonly pageSize: number;
  readonly pages: number;
  readonly byTree: Readonly<Record<string, number>>;
  /** Overflow pages, free pages, pointer-map pages: pages reached by no B-tree walk. */
  readonly other: number;
}

const INTERIOR_INDEX = 2;
const INTERIOR_TABLE = 5;
const LEAF_INDEX = 10;
const LEAF_TABLE = 13;

/** The pages of the B-tree rooted at `root` (1-based page numbers). */
function treePages(image: Uint8Array, pageSize: number, root: number): number {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  let count = 0;
  const stack = [root];
  while (stack.length > 0) {
    const page = stack.pop() as number;
    const start = (page - 1) * pageSize;
    const header = start + (page === 1 ? 100 : 0);
    const type = image[header];
    count += 1;
    if (type === LEAF_INDEX || type === LEAF_TABLE) continue;
    if (type !== INTERIOR_INDEX && type !== INTERIOR_TABLE)
      throw new Error(`page ${page}: not a B-tree page (${type})`);
    const cells = view.getUint16(header + 3);
    for (let i = 0; i < cells; i++) {
      const cell = start + view.getUint16(header + 12 + 2 * i);
      stack.push(view.getUint32(cell));
    }
    stack.push(view.getUint32(header + 8));
  }
  return count;
}

/**
 * The breakdown of `image`; `roots` are `sqlite_master`'s (name, rootpage) pairs, page 1 being the
 * schema table itself.
 */
export function pageBreakdown(image: Uint8Array, roots: ReadonlyArray<readonly [string, number]>): PageBreakdown {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  // Header offset 16: the page size, 1 meaning 65,536.
  const raw = view.getUint16(16);
  const pageSize = raw === 1 ? 65_536 : raw;
  const pages = image.length / pageSize;
  const byTree: Record<string, number> = { sqlite_master: treePages(image, pageSize, 1) };
  for (const [name, root] of roots) if (root > 0) byTree[name] = treePages(image, pageSize, root);
  const walked = Object.values(byTree).reduce((a, b) => a + b, 0);
  return { pageSize, pages, byTree, other: pages - walked };
}
