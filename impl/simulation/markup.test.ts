import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { element, escapeText, join, raw, text } from './markup.ts';
import { parseMarkup, textOf } from './parseMarkup.testkit.ts';

/**
 * What the page keeps of a string: each code point XML 1.0 allows (§2.2 `Char`) and does not
 * discourage as a control (DEL, C1), the others as U+FFFD.
 */
const asXml = (s: string): string =>
  [...s]
    .map((c) => {
      const cp = c.codePointAt(0) as number;
      const ok =
        [0x9, 0xa, 0xd].includes(cp) ||
        (cp >= 0x20 && cp < 0x7f) ||
        (cp >= 0xa0 && cp <= 0xd7ff) ||
        (cp >= 0xe000 && cp <= 0xfffd) ||
        cp >= 0x10000;
      return ok ? c : '\ufffd';
    })
    .join('');

describe('markup', () => {
  fcTest.prop([fc.string({ unit: 'binary' })])(
    'any text and attribute value reads back as written, well-formed',
    (s) => {
      const { root, errors } = parseMarkup(`<p title="${escapeText(s)}">${escapeText(s)}</p>`);
      expect(errors).toEqual([]);
      expect(root?.attributes['title']).toBe(asXml(s));
      expect(root === null ? null : textOf(root)).toBe(asXml(s));
    },
  );

  test('the parser kit is strict: it reports what is not well-formed', () => {
    expect(parseMarkup('<div><p></div>').errors).not.toEqual([]);
    expect(parseMarkup('<p a=1></p>').errors).not.toEqual([]);
    expect(parseMarkup('<p>&nbsp;</p>').errors).not.toEqual([]);
    expect(parseMarkup('<p>\u0007</p>').errors).not.toEqual([]);
    expect(parseMarkup('<p>a & b</p>').errors).not.toEqual([]);
    expect(parseMarkup('<p>a &amp; b</p>').errors).toEqual([]);
  });

  test('elements: attributes quoted and escaped, absent ones left out; only void and SVG shapes self-close', () => {
    expect(element('a', { title: 'x"<y>', hidden: true, gone: undefined, off: false, n: -0.004 }, text('R&D'))).toBe(
      '<a title="x&quot;&lt;y&gt;" hidden="hidden" n="0">R&amp;D</a>',
    );
    expect(element('div')).toBe('<div></div>');
    expect(element('td', {}, text(''))).toBe('<td></td>');
    expect(element('meta', { charset: 'utf-8' })).toBe('<meta charset="utf-8"/>');
    expect(element('rect', { x: 1.234567 })).toBe('<rect x="1.23"/>');
    expect(join([raw('<b>'), text('<b>')], ' ')).toBe('<b> &lt;b&gt;');
    expect(text("it's")).toBe('it&#39;s');
  });
});
