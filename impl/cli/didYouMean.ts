/**
 * "Did you mean …?" for a mistyped command or option: the closest known word by edit distance
 * (Levenshtein, with adjacent transpositions counted as one edit: Damerau 1964), if it is close.
 * @module
 */

/** Edits (insert, delete, substitute, swap two neighbours) between `a` and `b`. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => rows[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, at(i - 2, j - 2) + 1);
      (rows[i] as number[])[j] = d;
    }
  }
  return at(a.length, b.length);
}

/**
 * ` (did you mean 'x'?)` for the known word closest to `word` — at most a third of its length away
 * (at least one edit), so unrelated words suggest nothing — or the empty string.
 */
export function didYouMean(word: string, known: Iterable<string>): string {
  let best: { word: string; distance: number } | null = null;
  for (const candidate of known) {
    const distance = editDistance(word, candidate);
    if (best === null || distance < best.distance) best = { word: candidate, distance };
  }
  const limit = Math.max(1, Math.floor(word.replace(/^-+/, '').length / 3));
  return best !== null && best.distance <= limit ? ` (did you mean '${best.word}'?)` : '';
}
