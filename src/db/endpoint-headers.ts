import type { Executor } from './database.ts';
import type { EndpointsTable } from './schema.ts';
import type { SecretBox } from './secret-box.ts';

/** The columns that hold an endpoint's extra request headers. */
export type EndpointHeaderColumns = Pick<EndpointsTable, 'headers' | 'headers_ciphertext'>;

/** An endpoint's extra headers cannot be read: sealed under another key, or not a JSON object. */
export class EndpointHeadersError extends Error {
  readonly code = 'ENDPOINT_HEADERS_UNREADABLE';
}

/**
 * How `headers` are stored: the whole JSON object sealed with the master key in `headers_ciphertext`
 * (names and values: a header may carry a credential under any name), and `headers` left `{}`.
 */
export function sealEndpointHeaders(
  box: SecretBox,
  headers: Readonly<Record<string, string>>,
): EndpointHeaderColumns {
  if (Object.keys(headers).length === 0) return { headers: '{}', headers_ciphertext: null };
  return { headers: '{}', headers_ciphertext: box.seal(JSON.stringify(headers)) };
}

/**
 * An endpoint's extra headers: opened from `headers_ciphertext`, or read from `headers` for a row
 * written before migration 0007 that `sealPlaintextEndpointHeaders` has not sealed yet. Numbers and
 * booleans become strings; other values are skipped.
 */
export function openEndpointHeaders(box: SecretBox, row: EndpointHeaderColumns): Record<string, string> {
  let json = row.headers;
  if (row.headers_ciphertext !== null) {
    try {
      json = box.open(row.headers_ciphertext);
    } catch {
      // Never the error's text: it must not carry key material anywhere.
      throw new EndpointHeadersError(
        "the endpoint's extra headers cannot be decrypted with this server's master key",
      );
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new EndpointHeadersError("the endpoint's extra headers are not valid JSON");
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new EndpointHeadersError("the endpoint's extra headers are not a JSON object");
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value === 'string') out[name] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') out[name] = String(value);
  }
  return out;
}

/**
 * Seals the extra headers that rows written before migration 0007 still hold in the clear (a
 * migration cannot: it has no master key). Run at start, after the master key is verified and before
 * anything is delivered. A row is rewritten only while it still holds what was read, so a change made
 * meanwhile by another instance wins. The text is sealed as it was, so the endpoint sends what it sent
 * before. Returns how many endpoints were sealed.
 */
export async function sealPlaintextEndpointHeaders(db: Executor, box: SecretBox): Promise<number> {
  const rows = await db
    .selectFrom('endpoints')
    .select(['id', 'headers'])
    .where('headers_ciphertext', 'is', null)
    .where('headers', '!=', '{}')
    .execute();
  let sealed = 0;
  for (const row of rows) {
    const result = await db
      .updateTable('endpoints')
      .set({ headers: '{}', headers_ciphertext: box.seal(row.headers) })
      .where('id', '=', row.id)
      .where('headers', '=', row.headers)
      .where('headers_ciphertext', 'is', null)
      .executeTakeFirst();
    sealed += Number(result.numUpdatedRows);
  }
  return sealed;
}
