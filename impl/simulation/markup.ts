/**
 * Markup built from parts that are escaped by construction: {@link text} is the only way from a
 * string of the report (a device name, a refusal reason, a violation's detail) into the page, and
 * {@link element} quotes and escapes every attribute value. The result is polyglot markup (HTML5
 * and well-formed XML 1.0 at once: W3C, "Polyglot Markup", 2013): every element closed, attributes
 * quoted, only the five XML entities, no character XML forbids.
 * @module
 */

declare const MARKUP: unique symbol;
/** A piece of markup: only {@link text}, {@link element}, {@link raw} and {@link join} make one. */
export type Markup = string & { readonly [MARKUP]: true };

/**
 * Characters a page must not carry as they are: those XML 1.0 does not allow even as references
 * (§2.2 `Char`: C0 controls but tab, line feed and carriage return; lone surrogates; U+FFFE and
 * U+FFFF), and DEL and the C1 controls, which it allows but discourages (§2.2, note) and HTML reads
 * as errors. A report's free text could hold any of them (a device or reason named by a test); they
 * become U+FFFD, so the page stays well-formed.
 */
const NOT_XML_CHAR = /(?![\t\n\r])\p{Cc}|\p{Cs}|[\ufffe\uffff]/gu;

const ENTITY: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

/**
 * `value` as character data or an attribute value: `& < > " '` as references (`&#39;` rather than
 * `&apos;`, which HTML 4 lacks); tab, line feed and carriage return as references too, which XML
 * would otherwise normalise (a carriage return in text, XML 1.0 §2.11; any of them in an attribute,
 * §3.3.3); characters XML forbids replaced by U+FFFD. What a parser reads back is `value` itself.
 */
export function escapeText(value: string): string {
  return value.replace(NOT_XML_CHAR, '\ufffd').replace(/[&<>"'\t\n\r]/g, (c) => ENTITY[c] ?? c);
}

/** Text of the report, escaped: inert whatever it holds. */
export function text(value: string | number): Markup {
  return escapeText(String(value)) as Markup;
}

/** Markup written in this package's own code (the style sheet), trusted as it is. */
export function raw(trusted: string): Markup {
  return trusted as Markup;
}

/** Parts one after the other. */
export function join(parts: readonly Markup[], separator = ''): Markup {
  return parts.join(separator) as Markup;
}

/** Attribute values; `undefined` or `false` leaves the attribute out. */
export type Attributes = Readonly<Record<string, string | number | boolean | undefined>>;

/** Numbers in attributes: at most two decimals, no `-0`, so coordinates stay short and stable. */
export function num(value: number): string {
  const rounded = Math.round(value * 100) / 100;
  return Object.is(rounded, -0) ? '0' : String(rounded);
}

/**
 * Elements written `<name/>`: HTML's void elements (WHATWG HTML §13.1.2) and SVG's shapes (foreign
 * elements may self-close, §13.1.2.1). Any other HTML element needs its end tag even when empty: an
 * HTML parser reads `<div/>` as an open `<div>`.
 */
const SELF_CLOSING = new Set(['meta', 'br', 'hr', 'img', 'rect', 'line', 'path', 'circle', 'polyline', 'stop']);

/** `<name attrs>children</name>`; `<name attrs/>` for an empty void element or SVG shape. */
export function element(name: string, attributes: Attributes = {}, ...children: readonly Markup[]): Markup {
  const attrs = Object.entries(attributes)
    .filter(([, v]) => v !== undefined && v !== false)
    .map(([k, v]) => ` ${k}="${v === true ? k : typeof v === 'number' ? num(v) : escapeText(v as string)}"`)
    .join('');
  const body = children.join('');
  if (body === '' && SELF_CLOSING.has(name)) return `<${name}${attrs}/>` as Markup;
  return `<${name}${attrs}>${body}</${name}>` as Markup;
}
