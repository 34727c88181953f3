import { AuthError } from './auth-error.ts';
import {
  canonicalHeaderLines,
  canonicalRequest,
  canonicalUriCandidates,
  deriveSigningKey,
  signaturesEqual,
  signHex,
  stringToSign,
} from './sigv4-canonical.ts';
import { parseSignatureClaim } from './signature-claim.ts';
import type { SignedRequest } from './signed-request.ts';

export type { SignedRequest } from './signed-request.ts';

/** The secret key of an access key id, or undefined when there is no such (enabled) key. */
export type SecretLookup = (accessKeyId: string) => Promise<string | undefined>;

/** How the request body is protected, from `x-amz-content-sha256` (or `X-Amz-Content-Sha256` when presigned). */
export type PayloadMode =
  /** The body must hash to `sha256` (lower-case hex); the caller verifies, as the body streams. */
  | { readonly kind: 'signed'; readonly sha256: string }
  /** `UNSIGNED-PAYLOAD`, or a presigned URL: the body is not covered by the signature. */
  | { readonly kind: 'unsigned' }
  /** `STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER)`: aws-chunked body with chained chunk signatures. */
  | {
      readonly kind: 'streaming-signed';
      readonly trailer: boolean;
      readonly seedSignature: string;
      readonly signingKey: Buffer;
      readonly scope: string;
      readonly amzDate: string;
    }
  /** `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: aws-chunked body without signatures, checksum in a trailer. */
  | { readonly kind: 'streaming-unsigned-trailer' };

export interface AuthResult {
  readonly accessKeyId: string;
  readonly payload: PayloadMode;
  /** The region of the credential scope. */
  readonly region: string;
}

export interface VerifyOptions {
  readonly now: Date;
  /** Largest accepted difference between the request time and `now`; default 15 minutes. */
  readonly maxSkewMs?: number;
  /** When set, a credential scope naming another region is rejected; when unset any region is accepted. */
  readonly region?: string;
}

const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';

/**
 * Verifies the AWS Signature Version 4 of a request, in the `Authorization` header or in the query
 * string (presigned URL). Returns undefined when the request carries no authentication at all; throws
 * an AuthError when it carries any that is not valid. The body is not read: see `PayloadMode` for what
 * the caller must verify as it streams.
 */
export async function verifyRequest(
  req: SignedRequest,
  lookup: SecretLookup,
  options: VerifyOptions,
): Promise<AuthResult | undefined> {
  const claim = parseSignatureClaim(req, options);
  if (claim === undefined) return undefined;
  const malformed =
    claim.form === 'header' ? 'AuthorizationHeaderMalformed' : 'AuthorizationQueryParametersError';
  const payload = classifyPayloadHash(claim.payloadHash);
  if (claim.form === 'query' && payload.kind === 'streaming-signed') {
    throw new AuthError('InvalidRequest', 'Presigned URLs cannot carry a streaming signed payload.');
  }
  if (!claim.signedHeaders.includes('host')) {
    throw new AuthError(malformed, 'The host header must be among the signed headers.');
  }
  const headerLines = canonicalHeaderLines(req.headers, claim.signedHeaders);
  if ('missing' in headerLines) {
    throw new AuthError(
      'SignatureDoesNotMatch',
      `The signed header '${headerLines.missing}' is not present in the request.`,
    );
  }
  assertAmzHeadersSigned(req.headers, claim.signedHeaders);

  const { credential } = claim;
  const secret = await lookup(credential.accessKeyId);
  if (secret === undefined) {
    throw new AuthError(
      'InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
    );
  }
  const signingKey = deriveSigningKey(secret, credential.date, credential.region, credential.service);
  const signedHeaders = claim.signedHeaders.join(';');
  const matches = canonicalUriCandidates(req.rawPath).some((uri) => {
    const canonical = canonicalRequest({
      method: req.method,
      uri,
      query: claim.canonicalQuery,
      headerLines: headerLines.lines,
      signedHeaders,
      payloadHash: claim.payloadHash,
    });
    return signaturesEqual(
      signHex(signingKey, stringToSign(claim.amzDate, credential.scope, canonical)),
      claim.signature,
    );
  });
  if (!matches) {
    throw new AuthError(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    );
  }
  const result: PayloadMode =
    payload.kind === 'streaming-signed'
      ? {
          kind: 'streaming-signed',
          trailer: payload.trailer,
          seedSignature: claim.signature.toLowerCase(),
          signingKey,
          scope: credential.scope,
          amzDate: claim.amzDate,
        }
      : payload;
  return { accessKeyId: credential.accessKeyId, payload: result, region: credential.region };
}

type PayloadHashKind =
  | { readonly kind: 'signed'; readonly sha256: string }
  | { readonly kind: 'unsigned' }
  | { readonly kind: 'streaming-signed'; readonly trailer: boolean }
  | { readonly kind: 'streaming-unsigned-trailer' };

function classifyPayloadHash(value: string): PayloadHashKind {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return { kind: 'signed', sha256: value.toLowerCase() };
  switch (value) {
    case UNSIGNED_PAYLOAD:
      return { kind: 'unsigned' };
    case STREAMING_SIGNED:
      return { kind: 'streaming-signed', trailer: false };
    case STREAMING_SIGNED_TRAILER:
      return { kind: 'streaming-signed', trailer: true };
    case STREAMING_UNSIGNED_TRAILER:
      return { kind: 'streaming-unsigned-trailer' };
    default:
      if (value.startsWith('STREAMING-AWS4-ECDSA-P256-SHA256')) {
        throw new AuthError(
          'InvalidRequest',
          'Signature Version 4A streaming payloads are not supported; use AWS4-HMAC-SHA256.',
        );
      }
      throw new AuthError(
        'InvalidArgument',
        'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, or a valid sha256 value.',
      );
  }
}

/**
 * Every `x-amz-*` header must be signed (as AWS requires): these headers change what a request does
 * (`x-amz-copy-source`, `x-amz-meta-*`, `x-amz-tagging`, ...), and a presigned PUT URL must not be
 * turnable into a copy of another object. `x-amz-content-sha256` is exempt: it is covered by the payload
 * hash line of the canonical request, or ignored (presigned).
 */
function assertAmzHeadersSigned(headers: SignedRequest['headers'], signedHeaders: readonly string[]): void {
  const unsigned = Object.keys(headers)
    .map((name) => name.toLowerCase())
    .filter(
      (name) => name.startsWith('x-amz-') && name !== 'x-amz-content-sha256' && !signedHeaders.includes(name),
    )
    .filter((name) => headers[name] !== undefined);
  if (unsigned.length > 0) {
    throw new AuthError(
      'AccessDenied',
      `There were headers present in the request which were not signed: ${unsigned.join(', ')}`,
    );
  }
}
