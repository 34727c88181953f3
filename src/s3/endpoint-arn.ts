/** Endpoints appear in S3 notification documents as `arn:bucketbell:webhook::<endpoint-id>`. */
export function endpointArn(endpointId: string): string {
  return `arn:bucketbell:webhook::${endpointId}`;
}

/** The endpoint id an ARN names (`arn:bucketbell:webhook:<region, may be empty>:<id>`), or undefined. */
export function parseEndpointArn(arn: string): string | undefined {
  const parts = arn.split(':');
  if (parts.length < 5 || parts[0] !== 'arn' || parts[1] !== 'bucketbell' || parts[2] !== 'webhook')
    return undefined;
  const id = parts.slice(4).join(':');
  return id === '' ? undefined : id;
}
