import type { AuthError } from './auth-error.ts';

/** The parsed `Credential` of a SigV4 signature: `<access key id>/<yyyymmdd>/<region>/<service>/aws4_request`. */
export interface CredentialScope {
  readonly accessKeyId: string;
  /** `YYYYMMDD`, which must be the date of the request timestamp. */
  readonly date: string;
  readonly region: string;
  readonly service: string;
  /** The scope as it goes into the string to sign: `<date>/<region>/<service>/aws4_request`. */
  readonly scope: string;
}

const TERMINATOR = 'aws4_request';
const SERVICE = 's3';

/**
 * Parses a credential and checks its service (`s3`), terminator, and, when `expectedRegion` is set, its
 * region. `fail` builds the error for a reason (a message fragment), so that the header, query-string
 * and form variants each report with their own AWS code and wording.
 */
export function parseCredentialScope(
  value: string,
  expectedRegion: string | undefined,
  fail: (reason: string) => AuthError,
): CredentialScope {
  const parts = value.split('/');
  // The access key id may itself hold a slash, so the scope is read from the right.
  if (parts.length < 5) {
    throw fail('the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".');
  }
  const [date, region, service, terminator] = parts.slice(-4) as [string, string, string, string];
  const accessKeyId = parts.slice(0, -4).join('/');
  if (accessKeyId === '' || region === '') {
    throw fail('the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".');
  }
  if (!/^\d{8}$/.test(date))
    throw fail(
      `incorrect date format "${date}". This date in the credential must be in the format "yyyyMMdd".`,
    );
  if (terminator !== TERMINATOR)
    throw fail(`incorrect terminal "${terminator}". This endpoint uses "${TERMINATOR}".`);
  if (service !== SERVICE)
    throw fail(`incorrect service "${service}". This endpoint belongs to "${SERVICE}".`);
  if (expectedRegion !== undefined && region !== expectedRegion) {
    throw fail(`the region '${region}' is wrong; expecting '${expectedRegion}'`);
  }
  return { accessKeyId, date, region, service, scope: `${date}/${region}/${service}/${TERMINATOR}` };
}
