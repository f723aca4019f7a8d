/** Parses a report's XML into a small element tree (name, attributes, children, text) for the XML-based gates. */

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { isBlank, looksLike, malformedReport, stripBom } from './malformed-report.js';

export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** Text and CDATA directly inside the element, concatenated. */
  readonly text: string;
}

// preserveOrder keeps document order (node's reporter mixes <testcase> and <testsuite> siblings);
// values stay strings so a test named "1e3" is not turned into 1000.
const PARSER = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

/** The root element, or a SLW_STEP_FAILED naming the file, the format expected and what is wrong. */
export function parseXmlReport(text: string, file: string, what: string): XmlElement {
  if (isBlank(text)) throw malformedReport(file, what, 'the file is empty');
  const source = stripBom(text);
  const start = source.trimStart();
  if (!start.startsWith('<')) {
    const kind = start.startsWith('{') || start.startsWith('[') ? 'it is JSON, not XML' : 'it is not XML';
    throw malformedReport(file, what, `${kind}${looksLike(start)}`);
  }
  // The parser is lenient (it would return half a document); the validator is not.
  const valid = XMLValidator.validate(source);
  if (valid !== true) throw malformedReport(file, what, describeXmlError(valid.err, source));
  const roots = toElements(PARSER.parse(source) as unknown[]);
  if (roots.length !== 1) {
    throw malformedReport(file, what, `expected one root element, found ${roots.length}`);
  }
  return roots[0] as XmlElement;
}

/** Child elements with this name. */
export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

function describeXmlError(
  err: { code: string; msg: string; line: number; col?: number },
  source: string,
): string {
  const at = `line ${err.line}${err.col === undefined ? '' : `, column ${err.col}`}`;
  // fast-xml-parser reports an unclosed document as "Invalid '["a","b"]' found." (the open tags).
  const unclosed = /^Invalid '(\[[\s\S]*\])' found\.$/.exec(err.msg);
  if (unclosed) {
    try {
      const tags = (JSON.parse(unclosed[1] as string) as string[]).map((t) => `<${t}>`).join(', ');
      return `invalid XML: ${tags} never closed (truncated file?)`;
    } catch {
      // Fall through to the parser's own words.
    }
  }
  // An error on the last line of a document that never closes is, in practice, a file cut short.
  const lastLine = source.trimEnd().split('\n').length;
  const cut = err.line >= lastLine ? ' (truncated file?)' : '';
  return `invalid XML at ${at}: ${err.msg}${cut}`;
}

function toElements(nodes: readonly unknown[]): XmlElement[] {
  const out: XmlElement[] = [];
  for (const node of nodes) {
    if (node === null || typeof node !== 'object') continue;
    const record = node as Record<string, unknown>;
    const name = Object.keys(record).find((k) => k !== ':@' && k !== '#text');
    if (name === undefined) continue;
    const body = (record[name] as unknown[] | undefined) ?? [];
    const attrs = (record[':@'] as Record<string, string> | undefined) ?? {};
    let text = '';
    for (const child of body) {
      const value = (child as Record<string, unknown>)['#text'];
      if (value !== undefined) text += String(value);
    }
    out.push({ name, attrs, children: toElements(body), text });
  }
  return out;
}
