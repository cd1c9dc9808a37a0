/**
 * How many terminal columns a string takes, so that tables stay aligned with CJK names and emoji:
 * per grapheme cluster (`Intl.Segmenter`, UAX #29), 2 for East Asian Wide and Fullwidth characters
 * (UAX #11) and emoji shown as pictures (UTS #51, `Emoji_Presentation`), 0 for clusters of only
 * combining or format characters, 1 otherwise — what terminals do, as `wcwidth` does.
 * @module
 */

/**
 * East Asian Wide (W) and Fullwidth (F) ranges of UAX #11 (EastAsianWidth.txt, Unicode 15), merged
 * into blocks: Hangul Jamo, CJK symbols to CJK Compatibility, CJK Unified Ideographs and extensions,
 * Yi, Hangul syllables, CJK compatibility ideographs, vertical and small forms, fullwidth forms.
 */
const WIDE: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1b000, 0x1b2ff],
  [0x20000, 0x2fffd],
  [0x30000, 0x3fffd],
];

const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });

function isWide(codePoint: number): boolean {
  return WIDE.some(([from, to]) => codePoint >= from && codePoint <= to);
}

/** Columns of one grapheme cluster. */
function clusterWidth(cluster: string): number {
  if (/^[\p{Mn}\p{Me}\p{Cf}]+$/u.test(cluster)) return 0;
  // An emoji presented as a picture, or any cluster turned into one (a keycap, a flag, a ZWJ sequence, VS16).
  if (/\p{Emoji_Presentation}|\uFE0F|\p{Regional_Indicator}/u.test(cluster)) return 2;
  return isWide(cluster.codePointAt(0) ?? 0) ? 2 : 1;
}

/** The columns `text` takes on a terminal. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const { segment } of segmenter.segment(text)) width += clusterWidth(segment);
  return width;
}

/** `text` padded with spaces to `width` columns. */
export function padDisplay(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}
