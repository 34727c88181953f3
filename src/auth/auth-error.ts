/**
 * The AWS S3 error codes the authentication layer can produce. The S3 layer maps each to its
 * HTTP status and renders it; this list is data so that a test there can check every code is known.
 */
export const AUTH_ERROR_CODES = [
  'AccessDenied',
  'AuthorizationHeaderMalformed',
  'AuthorizationQueryParametersError',
  'BadDigest',
  'EntityTooLarge',
  'EntityTooSmall',
  'IncompleteBody',
  'InvalidAccessKeyId',
  'InvalidArgument',
  'InvalidDigest',
  'InvalidPolicyDocument',
  'InvalidRequest',
  'MissingSecurityHeader',
  'RequestTimeTooSkewed',
  'SignatureDoesNotMatch',
  'XAmzContentSHA256Mismatch',
] as const;

export type AuthErrorCode = (typeof AUTH_ERROR_CODES)[number];

/** An authentication or request-integrity failure, named by its AWS S3 error code. Knows nothing of HTTP. */
export class AuthError extends Error {
  readonly code: AuthErrorCode;

  constructor(code: AuthErrorCode, message: string) {
    super(message);
    this.name = 'AuthError';
    this.code = code;
  }
}
