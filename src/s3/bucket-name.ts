/** Why a bucket name breaks AWS's naming rules, or undefined when it is valid. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63)
    return 'Bucket names must be between 3 (min) and 63 (max) characters long.';
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) {
    return 'Bucket names can consist only of lowercase letters, numbers, dots (.), and hyphens (-), and must begin and end with a letter or number.';
  }
  if (name.includes('..')) return 'Bucket names must not contain two adjacent periods.';
  if (/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name))
    return 'Bucket names must not be formatted as an IP address.';
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name))
    return 'Bucket names must not start with a reserved prefix.';
  if (/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name))
    return 'Bucket names must not end with a reserved suffix.';
  return undefined;
}
