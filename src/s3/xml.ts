import { XMLParser } from 'fast-xml-parser';
import { SyntaxValidator } from 'fast-xml-validator';

export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** A tiny XML tree: element name -> text, a child tree, or a list of either (repeated elements). */
export type XmlValue =
  string | number | boolean | XmlTree | readonly XmlTree[] | readonly string[] | undefined;
export interface XmlTree {
  readonly [name: string]: XmlValue;
}

// Control characters cannot appear in XML 1.0 text, so they are written as character references.
export function escapeXml(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[&<>"'\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      case "'":
        return '&apos;';
      default:
        return `&#x${c.charCodeAt(0).toString(16)};`;
    }
  });
}

/**
 * Renders `<root xmlns=…>tree</root>` with the XML declaration. Undefined values are left out.
 * `xmlns: false` renders no namespace: S3's `<Error>` has none, and botocore only recognises it without.
 */
export function renderXml(root: string, tree: XmlTree, xmlns: string | false = S3_XMLNS): string {
  const attr = xmlns === false ? '' : ` xmlns="${xmlns}"`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${attr}>${renderChildren(tree)}</${root}>`;
}

function renderChildren(tree: XmlTree): string {
  let out = '';
  for (const [name, value] of Object.entries(tree)) out += renderElement(name, value);
  return out;
}

function renderElement(name: string, value: XmlValue): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map((item: XmlTree | string) => renderElement(name, item)).join('');
  if (typeof value === 'object') return `<${name}>${renderChildren(value as XmlTree)}</${name}>`;
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

const NAMED_ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * Decodes XML's five named entities and numeric character references (`&#34;`, `&#x22;`) in one pass.
 * fast-xml-parser leaves numeric references alone unless HTML entities are on, but Go's encoding/xml
 * (rclone, MinIO clients) writes every quote as `&#34;`, e.g. around the ETags of CompleteMultipartUpload.
 * Entities a DOCTYPE declares are never expanded.
 */
function decodeEntities(text: string): string {
  return text.replace(/&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-z]{2,4});/g, (whole, ref: string) => {
    if (!ref.startsWith('#')) return NAMED_ENTITIES[ref] ?? whole;
    const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    const isValid = code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff);
    return isValid ? String.fromCodePoint(code) : whole;
  });
}

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: false,
  isArray: () => false,
  processEntities: true,
  entityDecoder: {
    decode: decodeEntities,
    setExternalEntities: () => undefined,
    addInputEntities: () => undefined,
    reset: () => undefined,
    setXmlVersion: () => undefined,
  },
});

/** Parses a request body; returns undefined when it is not well-formed XML. */
export function parseXml(text: string): Record<string, unknown> | undefined {
  if (text.trim() === '') return undefined;
  try {
    SyntaxValidator.validate(text); // throws on a document that is not well-formed
    const parsed: unknown = parser.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A child that may occur once or many times, as a list. */
export function xmlList(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** The text of an element, or undefined when absent or not text. */
export function xmlText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}
