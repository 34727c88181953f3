import type { RequestContext } from './request-context.ts';
import { S3Error } from './s3-error.ts';
import { verifySmallBodyIntegrity } from './small-body-integrity.ts';
import { renderXml, type XmlTree } from './xml.ts';

export function sendXml(
  rc: RequestContext,
  status: number,
  root: string,
  tree: XmlTree,
  headers: Record<string, string> = {},
): void {
  const body = renderXml(root, tree);
  rc.res.writeHead(status, {
    ...headers,
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
  });
  rc.res.end(body);
}

export function sendEmpty(rc: RequestContext, status: number, headers: Record<string, string> = {}): void {
  rc.res.writeHead(status, { ...headers, 'content-length': '0' });
  rc.res.end();
}

/**
 * Reads a small request body (XML documents) up to `limit` bytes and verifies it against the signed
 * `x-amz-content-sha256`, `Content-MD5` and `x-amz-checksum-*` (see verifySmallBodyIntegrity), so
 * that no operation acts on a body the client did not send.
 */
export async function readSmallBody(
  rc: RequestContext,
  limit: number,
  options: { readonly checksumsDescribeBody?: boolean } = {},
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of rc.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new S3Error('MaxMessageLengthExceeded');
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  verifySmallBodyIntegrity(rc, body, options.checksumsDescribeBody ?? true);
  return body;
}
