/**
 * TEST KIT: reads a page with a real, strict XML 1.0 parser (saxes, a conforming non-validating
 * parser: it reports every well-formedness error of XML 1.0 and Namespaces in XML) into a small
 * tree the tests can query. A page that is not well-formed comes back with its errors.
 */
import { SaxesParser } from 'saxes';

/** An element: its name, attributes, children (elements and text, in order). */
export interface Node {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: (Node | string)[];
}

/** Parses `markup`; `errors` is empty exactly when it is well-formed. */
export function parseMarkup(markup: string): { root: Node | null; errors: string[] } {
  const parser = new SaxesParser({ xmlns: true });
  const errors: string[] = [];
  const stack: Node[] = [];
  let root: Node | null = null;
  parser.on('error', (e) => errors.push(e.message));
  parser.on('opentag', (tag) => {
    const attributes: Record<string, string> = {};
    for (const [name, attribute] of Object.entries(tag.attributes)) attributes[name] = attribute.value;
    const node: Node = { name: tag.name, attributes, children: [] };
    const parent = stack.at(-1);
    if (parent === undefined) root = node;
    else parent.children.push(node);
    stack.push(node);
  });
  parser.on('closetag', () => void stack.pop());
  parser.on('text', (t) => void stack.at(-1)?.children.push(t));
  parser.write(markup).close();
  return { root, errors };
}

/** Every element under `node` (itself included) that `match` accepts, in document order. */
export function findAll(node: Node, match: (n: Node) => boolean): Node[] {
  const out: Node[] = match(node) ? [node] : [];
  for (const child of node.children) if (typeof child !== 'string') out.push(...findAll(child, match));
  return out;
}

/** The text of `node` and its descendants, joined. */
export function textOf(node: Node): string {
  return node.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}
