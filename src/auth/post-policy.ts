import { parseAmzDate } from './amz-date.ts';
import { AuthError } from './auth-error.ts';
import { parseCredentialScope } from './credential-scope.ts';
import { deriveSigningKey, signaturesEqual, signHex, SIGV4_ALGORITHM } from './sigv4-canonical.ts';
import type { SecretLookup } from './sigv4-verify.ts';

/** One condition of a POST policy. Field names are lower-case and without the `$`. */
export type PolicyCondition =
  | { readonly kind: 'eq'; readonly field: string; readonly value: string }
  | { readonly kind: 'starts-with'; readonly field: string; readonly prefix: string }
  | { readonly kind: 'content-length-range'; readonly min: number; readonly max: number };

/** A verified POST policy. */
export interface PolicyConditions {
  readonly expiration: Date;
  /** The bucket of the request URL: the value of the `bucket` field for the conditions. */
  readonly bucket: string;
  readonly rules: readonly PolicyCondition[];
  /**
   * The narrowest allowed size of the file from all `content-length-range` conditions, so that an upload
   * can be cut off while it streams; undefined when the policy sets none.
   */
  readonly contentLength: { readonly min: number; readonly max: number } | undefined;
}

/** Form fields that no condition needs to cover (AWS): the signature, the policy itself and the file. */
const UNCOVERED_FIELDS = new Set(['x-amz-signature', 'policy', 'file']);
const UNCOVERED_PREFIX = 'x-ignore-';

/**
 * Verifies the SigV4 signature of a browser-form POST upload: `x-amz-signature` must be the HMAC of the
 * base64 `policy` field with the signing key of `x-amz-credential`, `x-amz-algorithm` must be
 * AWS4-HMAC-SHA256, and the policy must not have expired. `fields` holds the form fields (not the file)
 * with lower-cased names. The caller then calls checkPolicyConditions with the fields and the file size.
 */
export async function verifyPostPolicy(
  fields: ReadonlyMap<string, string>,
  lookup: SecretLookup,
  options: { readonly now: Date; readonly bucket: string },
): Promise<{ accessKeyId: string; conditions: PolicyConditions }> {
  const policy = fields.get('policy');
  const signature = fields.get('x-amz-signature');
  if (signature === undefined && (fields.has('awsaccesskeyid') || fields.has('signature'))) {
    throw new AuthError(
      'InvalidRequest',
      'POST uploads signed with AWS Signature Version 2 are not supported; use AWS4-HMAC-SHA256.',
    );
  }
  if (policy === undefined && signature === undefined) {
    throw new AuthError(
      'AccessDenied',
      'Anonymous POST uploads are not allowed; sign the form with a POST policy.',
    );
  }
  const required = (name: string): string => {
    const value = fields.get(name);
    if (value === undefined) {
      throw new AuthError(
        'InvalidArgument',
        `Bucket POST must contain a field named '${name}'. If it is specified, please check the order of the fields.`,
      );
    }
    return value;
  };
  const policyBase64 = required('policy');
  const claimed = required('x-amz-signature');
  const algorithm = required('x-amz-algorithm');
  const credentialValue = required('x-amz-credential');
  const amzDate = required('x-amz-date');
  if (algorithm !== SIGV4_ALGORITHM) {
    throw new AuthError('InvalidArgument', `x-amz-algorithm must be ${SIGV4_ALGORITHM}, not '${algorithm}'.`);
  }
  const credential = parseCredentialScope(
    credentialValue,
    undefined,
    (reason) => new AuthError('InvalidArgument', `Error parsing the x-amz-credential field; ${reason}`),
  );
  if (parseAmzDate(amzDate) === undefined) {
    throw new AuthError(
      'InvalidArgument',
      `x-amz-date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`,
    );
  }
  if (amzDate.slice(0, 8) !== credential.date) {
    throw new AuthError(
      'InvalidArgument',
      `Invalid credential date "${credential.date}". This date is not the same as x-amz-date: "${amzDate.slice(0, 8)}".`,
    );
  }
  const secret = await lookup(credential.accessKeyId);
  if (secret === undefined) {
    throw new AuthError(
      'InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
    );
  }
  const signingKey = deriveSigningKey(secret, credential.date, credential.region, credential.service);
  if (!signaturesEqual(signHex(signingKey, policyBase64), claimed)) {
    throw new AuthError(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    );
  }
  const conditions = parsePolicy(policyBase64, options.bucket);
  if (options.now.getTime() > conditions.expiration.getTime()) {
    throw new AuthError('AccessDenied', 'Invalid according to Policy: Policy expired.');
  }
  return { accessKeyId: credential.accessKeyId, conditions };
}

/** Decodes and validates the base64 JSON policy document. */
function parsePolicy(policyBase64: string, bucket: string): PolicyConditions {
  const invalid = (reason: string): AuthError =>
    new AuthError('InvalidPolicyDocument', `Invalid Policy: ${reason}`);
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(policyBase64, 'base64').toString('utf8'));
  } catch {
    throw invalid('Invalid JSON.');
  }
  if (!isRecord(document)) throw invalid('Invalid JSON.');
  const { expiration, conditions } = document;
  if (typeof expiration !== 'string') throw invalid('Policy missing expiration.');
  const expires = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(expiration)
    ? Date.parse(expiration)
    : Number.NaN;
  if (Number.isNaN(expires)) throw invalid(`Invalid 'expiration' value: '${expiration}'`);
  if (!Array.isArray(conditions)) throw invalid('Policy missing conditions.');
  const parsed = conditions.flatMap((condition: unknown) => parseCondition(condition, invalid));
  let contentLength: { min: number; max: number } | undefined;
  for (const c of parsed) {
    if (c.kind !== 'content-length-range') continue;
    contentLength = {
      min: Math.max(contentLength?.min ?? 0, c.min),
      max: Math.min(contentLength?.max ?? Number.MAX_SAFE_INTEGER, c.max),
    };
  }
  return { expiration: new Date(expires), bucket, rules: parsed, contentLength };
}

function parseCondition(condition: unknown, invalid: (reason: string) => AuthError): PolicyCondition[] {
  if (Array.isArray(condition)) {
    const [op, first, second] = condition as unknown[];
    const operator = typeof op === 'string' ? op.toLowerCase() : op;
    if (condition.length !== 3) throw invalid(`Invalid condition: ${JSON.stringify(condition)}`);
    if (operator === 'content-length-range') {
      const min = toLength(first);
      const max = toLength(second);
      if (min === undefined || max === undefined || min > max)
        throw invalid(`Invalid content-length-range: ${JSON.stringify(condition)}`);
      return [{ kind: 'content-length-range', min, max }];
    }
    if (
      (operator !== 'eq' && operator !== 'starts-with') ||
      typeof first !== 'string' ||
      typeof second !== 'string'
    ) {
      throw invalid(`Invalid condition: ${JSON.stringify(condition)}`);
    }
    if (!first.startsWith('$') || first.length < 2)
      throw invalid(`Invalid condition field: ${JSON.stringify(condition)}`);
    const field = first.slice(1).toLowerCase();
    return [
      operator === 'eq'
        ? { kind: 'eq', field, value: second }
        : { kind: 'starts-with', field, prefix: second },
    ];
  }
  if (isRecord(condition)) {
    const entries = Object.entries(condition);
    if (entries.length === 0) throw invalid('Invalid condition: {}');
    return entries.map(([name, value]) => {
      if (typeof value !== 'string') throw invalid(`Invalid condition: ${JSON.stringify(condition)}`);
      return { kind: 'eq', field: name.toLowerCase(), value };
    });
  }
  throw invalid(`Invalid condition: ${JSON.stringify(condition)}`);
}

function toLength(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Enforces a verified policy on the form: every condition holds (`eq` exact, `starts-with` prefix, with
 * `bucket` taken from the request URL), every form field except `x-amz-signature`, `policy`, `file` and
 * `x-ignore-*` is named by some condition (AWS's rule), and the file size is within each
 * `content-length-range`. Pass `fileSize` undefined to check the fields alone before the file is read.
 * `fields` should hold `key` after `${filename}` substitution, as MinIO does.
 */
export function checkPolicyConditions(
  conditions: PolicyConditions,
  fields: ReadonlyMap<string, string>,
  fileSize: number | undefined,
): void {
  const denied = (reason: string): AuthError =>
    new AuthError('AccessDenied', `Invalid according to Policy: ${reason}`);
  const valueOf = (field: string): string =>
    field === 'bucket' ? conditions.bucket : (fields.get(field) ?? '');
  for (const condition of conditions.rules) {
    switch (condition.kind) {
      case 'eq':
        if (valueOf(condition.field) !== condition.value) {
          throw denied(
            `Policy Condition failed: ["eq", "$${condition.field}", ${JSON.stringify(condition.value)}]`,
          );
        }
        break;
      case 'starts-with': {
        const value = valueOf(condition.field);
        // A Content-Type may list several types; each must match, as in MinIO.
        const values = condition.field === 'content-type' ? value.split(',').map((v) => v.trim()) : [value];
        if (!values.every((v) => v.startsWith(condition.prefix))) {
          throw denied(
            `Policy Condition failed: ["starts-with", "$${condition.field}", ${JSON.stringify(condition.prefix)}]`,
          );
        }
        break;
      }
      case 'content-length-range':
        if (fileSize === undefined) break;
        if (fileSize > condition.max) {
          throw new AuthError(
            'EntityTooLarge',
            `Your proposed upload exceeds the maximum allowed size (${condition.max} bytes).`,
          );
        }
        if (fileSize < condition.min) {
          throw new AuthError(
            'EntityTooSmall',
            `Your proposed upload is smaller than the minimum allowed size (${condition.min} bytes).`,
          );
        }
        break;
    }
  }
  const covered = new Set(
    conditions.rules.flatMap((c) => (c.kind === 'content-length-range' ? [] : [c.field])),
  );
  const extra = [...fields.keys()].filter(
    (name) => !UNCOVERED_FIELDS.has(name) && !name.startsWith(UNCOVERED_PREFIX) && !covered.has(name),
  );
  if (extra.length > 0) throw denied(`Extra input fields: ${extra.join(', ')}`);
}
