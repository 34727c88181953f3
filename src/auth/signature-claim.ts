import { formatAmzDate, parseAmzDate, parseHttpDate } from './amz-date.ts';
import { AuthError } from './auth-error.ts';
import { parseCredentialScope, type CredentialScope } from './credential-scope.ts';
import { canonicalQueryString, parseQuery, SIGV4_ALGORITHM, type QueryParam } from './sigv4-canonical.ts';
import { headerValue, type SignedRequest } from './signed-request.ts';

/** What a request's SigV4 signature asks to be checked, whichever its form. */
export interface SignatureClaim {
  /** `header` for the Authorization header, `query` for a presigned URL. */
  readonly form: 'header' | 'query';
  readonly credential: CredentialScope;
  /** Lower-case names, in the order the client listed them. */
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  /** The request timestamp as it goes into the string to sign (`YYYYMMDDTHHMMSSZ`). */
  readonly amzDate: string;
  /** The last line of the canonical request: a hex digest, `UNSIGNED-PAYLOAD` or a `STREAMING-*` value. */
  readonly payloadHash: string;
  readonly canonicalQuery: string;
}

export interface ClaimOptions {
  readonly now: Date;
  readonly maxSkewMs?: number;
  readonly region?: string;
}

const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGNED_EXPIRES_SECONDS = 604_800;
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const SIGV4A_ALGORITHM = 'AWS4-ECDSA-P256-SHA256';
const PRESIGNED_PARAMS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
] as const;
type PresignedParam = (typeof PRESIGNED_PARAMS)[number];

const ONLY_SIGV4 =
  'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256 (Signature Version 4; ' +
  'AWS Signature Version 2 is not supported: for s3cmd set signature_v2 = False).';

/**
 * Reads the SigV4 signature of a request, from the `Authorization` header or the query string, and
 * checks everything about it that needs no secret: its syntax, credential scope, date, clock skew and
 * expiry. Undefined when the request carries no authentication at all.
 */
export function parseSignatureClaim(req: SignedRequest, options: ClaimOptions): SignatureClaim | undefined {
  const authorization = headerValue(req, 'authorization');
  const params = parseQuery(req.rawQuery);
  const presigned = params.some((p) => (PRESIGNED_PARAMS as readonly string[]).includes(p.name));
  const presignedV2 =
    params.some((p) => p.name === 'AWSAccessKeyId') && params.some((p) => p.name === 'Signature');
  if (authorization !== undefined && (presigned || presignedV2)) {
    throw new AuthError(
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
    );
  }
  if (authorization !== undefined) return parseHeaderClaim(req, params, authorization, options);
  if (presigned) return parsePresignedClaim(req, params, options);
  if (presignedV2) throw new AuthError('InvalidRequest', ONLY_SIGV4);
  return undefined;
}

/** The `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` form. */
function parseHeaderClaim(
  req: SignedRequest,
  params: readonly QueryParam[],
  authorization: string,
  options: ClaimOptions,
): SignatureClaim {
  const value = authorization.trim();
  const malformed = (reason: string): AuthError =>
    new AuthError('AuthorizationHeaderMalformed', `The authorization header is malformed; ${reason}`);
  if (/^AWS\s/.test(value)) throw new AuthError('InvalidRequest', ONLY_SIGV4);
  if (value.startsWith(SIGV4A_ALGORITHM)) {
    throw new AuthError(
      'InvalidRequest',
      'Signature Version 4A (AWS4-ECDSA-P256-SHA256) is not supported; use AWS4-HMAC-SHA256.',
    );
  }
  if (value !== SIGV4_ALGORITHM && !/^AWS4-HMAC-SHA256[\s,]/.test(value)) {
    throw new AuthError('InvalidArgument', 'Unsupported Authorization Type');
  }
  const components = new Map<string, string>();
  // Signers differ in spacing: `Credential=a, SignedHeaders=b, Signature=c`, `...=a,SignedHeaders=...`, or spaces only.
  for (const part of value.slice(SIGV4_ALGORITHM.length).split(/[\s,]+/)) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq <= 0 ? '' : part.slice(0, eq);
    if (name === '' || components.has(name)) throw malformed(`the component '${part}' is not valid.`);
    components.set(name, part.slice(eq + 1));
  }
  const credentialValue = components.get('Credential');
  const signedHeadersValue = components.get('SignedHeaders');
  const signature = components.get('Signature');
  if (credentialValue === undefined || signedHeadersValue === undefined || signature === undefined) {
    throw malformed(
      'the authorization header requires three components: Credential, SignedHeaders, and Signature.',
    );
  }
  const credential = parseCredentialScope(credentialValue, options.region, malformed);
  const signedHeaders = parseSignedHeaders(signedHeadersValue, malformed);

  const xAmzDate = headerValue(req, 'x-amz-date');
  const dateHeader = headerValue(req, 'date');
  const time =
    xAmzDate !== undefined
      ? parseAmzDate(xAmzDate)
      : dateHeader !== undefined
        ? parseHttpDate(dateHeader)
        : undefined;
  if (time === undefined)
    throw new AuthError('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  const amzDate = xAmzDate ?? formatAmzDate(time);
  if (credential.date !== amzDate.slice(0, 8)) {
    throw malformed(
      `Invalid credential date "${credential.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`,
    );
  }
  const maxSkewMs = options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  if (Math.abs(options.now.getTime() - time.getTime()) > maxSkewMs) {
    throw new AuthError(
      'RequestTimeTooSkewed',
      "The difference between the request time and the server's time is too large.",
    );
  }
  // S3 requires the header on every header-signed request, even one without a body (a presigned URL,
  // which cannot carry it, is parsed below; a POST Object form is not SigV4-signed at all).
  const payloadHash = headerValue(req, 'x-amz-content-sha256');
  if (payloadHash === undefined) {
    throw new AuthError('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  }
  return {
    form: 'header',
    credential,
    signedHeaders,
    signature,
    amzDate,
    payloadHash,
    canonicalQuery: canonicalQueryString(params),
  };
}

/** The presigned URL form: `X-Amz-Algorithm`, `X-Amz-Credential`, ... in the query string. */
function parsePresignedClaim(
  req: SignedRequest,
  params: readonly QueryParam[],
  options: ClaimOptions,
): SignatureClaim {
  const fail = (reason: string): AuthError => new AuthError('AuthorizationQueryParametersError', reason);
  const values = new Map<PresignedParam, string>();
  for (const p of params) {
    const name = PRESIGNED_PARAMS.find((n) => n === p.name);
    if (name === undefined) continue;
    if (values.has(name)) throw fail(`The query parameter ${name} is given more than once.`);
    values.set(name, p.value);
  }
  const get = (name: PresignedParam): string => {
    const value = values.get(name);
    if (value === undefined) {
      throw fail(
        'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
      );
    }
    return value;
  };
  const algorithm = get('X-Amz-Algorithm');
  const credentialValue = get('X-Amz-Credential');
  const amzDate = get('X-Amz-Date');
  const expiresValue = get('X-Amz-Expires');
  const signedHeadersValue = get('X-Amz-SignedHeaders');
  const signature = get('X-Amz-Signature');
  if (algorithm !== SIGV4_ALGORITHM) throw fail(`X-Amz-Algorithm only supports "${SIGV4_ALGORITHM}"`);
  const credential = parseCredentialScope(credentialValue, options.region, (reason) =>
    fail(`Error parsing the X-Amz-Credential parameter; ${reason}`),
  );
  const time = parseAmzDate(amzDate);
  if (time === undefined) throw fail(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`);
  if (credential.date !== amzDate.slice(0, 8)) {
    throw fail(
      `Invalid credential date "${credential.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`,
    );
  }
  if (!/^\d{1,6}$/.test(expiresValue)) throw fail('X-Amz-Expires should be a number');
  const expires = Number(expiresValue);
  if (expires < 1) throw fail('X-Amz-Expires must be non-negative and non-zero');
  if (expires > MAX_PRESIGNED_EXPIRES_SECONDS) {
    throw fail(
      `X-Amz-Expires must be less than a week (in seconds) that is ${MAX_PRESIGNED_EXPIRES_SECONDS}`,
    );
  }
  const now = options.now.getTime();
  if (time.getTime() - now > (options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS)) {
    throw new AuthError('AccessDenied', 'Request is not valid yet');
  }
  if (now > time.getTime() + expires * 1000) throw new AuthError('AccessDenied', 'Request has expired');
  const signedHeaders = parseSignedHeaders(signedHeadersValue, (reason) =>
    fail(`Error parsing X-Amz-SignedHeaders; ${reason}`),
  );
  // The S3 presigner hoists it as `X-Amz-Content-Sha256`, a bare SignatureV4 as `x-amz-content-sha256`.
  const queryHash = params.find((p) => p.name.toLowerCase() === 'x-amz-content-sha256')?.value;
  const headerHash = signedHeaders.includes('x-amz-content-sha256')
    ? headerValue(req, 'x-amz-content-sha256')
    : undefined;
  return {
    form: 'query',
    credential,
    signedHeaders,
    signature,
    amzDate,
    payloadHash: queryHash ?? headerHash ?? UNSIGNED_PAYLOAD,
    canonicalQuery: canonicalQueryString(params, 'X-Amz-Signature'),
  };
}

function parseSignedHeaders(value: string, fail: (reason: string) => AuthError): string[] {
  const names = value.split(';').map((name) => name.trim().toLowerCase());
  if (names.some((name) => name === '')) throw fail(`the signed headers list '${value}' is not valid.`);
  return names;
}
