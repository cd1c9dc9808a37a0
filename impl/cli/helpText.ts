/**
 * Help text fitted to the width it is written for. The help is written by hand, line by line, and a
 * line that grew past the width (a longer summary, one more option in a synopsis) would wrap on the
 * terminal at an arbitrary column; here it is broken at spaces instead, and its continuation lines
 * start where its text starts:
 * - in an option or command list, under the description (after the first run of two or more spaces);
 * - in a `usage:` line, under the first argument;
 * - elsewhere, at the line's own indent.
 * An optional part of a synopsis (`[--clock system|manual]`) and a code span stay on one line.
 * Lines that fit are left exactly as written.
 * @module
 */
import { displayWidth } from './displayWidth.ts';

/** The width every help text keeps to: a terminal a little wider than the classic 80 columns. */
export const HELP_WIDTH = 100;

/**
 * The column where a continuation of `line` starts (see the module comment), in terminal columns:
 * a wide character before it (CJK) takes two.
 */
function hangingIndent(line: string): number {
  const usage = /^usage: (?:[a-z][\w-]* )+(?=[[A-Z<-])/.exec(line) ?? /^usage: /.exec(line);
  const described = /^\s*\S.*?\s{2,}(?=\S)/.exec(line);
  return displayWidth((usage ?? described ?? (/^\s*/.exec(line) as RegExpExecArray))[0]);
}

/** The first `columns` terminal columns of `line` (its head, before the words that are wrapped). */
function head(line: string, columns: number): string {
  let taken = '';
  for (const char of line) {
    if (displayWidth(taken + char) > columns) break;
    taken += char;
  }
  return taken;
}

/**
 * The words of `text`, split at spaces but never inside `[…]` (an optional part of a synopsis) or a
 * `code span`: each is broken whole or not at all.
 */
function words(text: string): string[] {
  const out: string[] = [];
  let word = '';
  let depth = 0;
  let code = false;
  for (const char of text) {
    if (char === ' ' && depth === 0 && !code) {
      out.push(word);
      word = '';
      continue;
    }
    if (char === '`') code = !code;
    else if (char === '[' && !code) depth += 1;
    else if (char === ']' && !code && depth > 0) depth -= 1;
    word += char;
  }
  out.push(word);
  return out;
}

function fitLine(line: string, width: number): string[] {
  if (displayWidth(line) <= width) return [line];
  const indent = hangingIndent(line);
  const lines: string[] = [];
  let current = head(line, indent);
  let empty = true;
  // Runs of spaces inside the text, and after it, are not kept where a line is broken.
  for (const word of words(line.slice(current.length).trimEnd()).filter((w) => w !== '')) {
    const longer = empty ? current + word : `${current} ${word}`;
    if (!empty && displayWidth(longer) > width) {
      lines.push(current);
      current = ' '.repeat(indent) + word;
    } else {
      current = longer;
    }
    empty = false;
  }
  lines.push(current);
  return lines;
}

/** `text` with every line longer than `width` columns broken as the module comment says. */
export function fitHelp(text: string, width: number = HELP_WIDTH): string {
  return text
    .split('\n')
    .flatMap((line) => fitLine(line, width))
    .join('\n');
}
