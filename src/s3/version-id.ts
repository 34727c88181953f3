import { S3Error } from './s3-error.ts';

/** The version id S3 gives an object written while its bucket is unversioned (every object, here). */
export const NULL_VERSION_ID = 'null';

/**
 * Versioning is not implemented: every bucket is unversioned, so every object is the `null` version
 * of its key, which a request may name. Any other version id is refused as AWS refuses it on an
 * unversioned bucket (400 InvalidArgument). Returns true when the request named the null version.
 */
export function requireNullVersion(
  versionId: string | undefined,
  argumentName: string,
  argumentValue: string | undefined = versionId,
): boolean {
  if (versionId === undefined) return false;
  if (versionId === NULL_VERSION_ID) return true;
  throw invalidVersionId(versionId, argumentName, argumentValue ?? versionId);
}

/** The error for a version id that names no version of an object here. */
export function invalidVersionId(
  versionId: string,
  argumentName: string,
  argumentValue = versionId,
): S3Error {
  return new S3Error(
    'InvalidArgument',
    versionId === '' ? 'Version id cannot be the empty string' : 'Invalid version id specified',
    { ArgumentName: argumentName, ArgumentValue: argumentValue },
  );
}
