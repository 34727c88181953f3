import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { AuthError, type AuthErrorCode } from './auth-error.ts';
import { checkPolicyConditions, verifyPostPolicy, type PolicyConditions } from './post-policy.ts';
import { deriveSigningKey, signHex } from './sigv4-canonical.ts';

const ACCESS_KEY = 'POSTPOLICYKEY';
const SECRET = 'post/policy+secret';
const lookup = (id: string): Promise<string | undefined> =>
  Promise.resolve(id === ACCESS_KEY ? SECRET : undefined);

const client = new S3Client({
  region: 'us-east-1',
  endpoint: 'http://127.0.0.1:9000',
  forcePathStyle: true,
  credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET },
});

/** The form fields a browser would post, names lower-cased as the S3 layer hands them over. */
async function presignedFields(
  options: Omit<Parameters<typeof createPresignedPost>[1], 'Bucket'>,
): Promise<Map<string, string>> {
  // @aws-sdk/s3-presigned-post bundles its own copy of @aws-sdk/client-s3: same code, another class object.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
  const { fields } = await createPresignedPost(client, { Bucket: 'bucket', ...options });
  return new Map(Object.entries(fields).map(([name, value]) => [name.toLowerCase(), value]));
}

/** Fields for a hand-written policy document, signed like createPresignedPost does. */
function signedFields(policy: string, extra: Record<string, string> = {}): Map<string, string> {
  const encoded = Buffer.from(policy).toString('base64');
  const signature = signHex(deriveSigningKey(SECRET, '20300101', 'us-east-1', 's3'), encoded);
  return new Map([
    ['policy', encoded],
    ['x-amz-algorithm', 'AWS4-HMAC-SHA256'],
    ['x-amz-credential', `${ACCESS_KEY}/20300101/us-east-1/s3/aws4_request`],
    ['x-amz-date', '20300101T000000Z'],
    ['x-amz-signature', signature],
    ...Object.entries(extra),
  ]);
}

async function rejects(promise: Promise<unknown>, code: AuthErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof AuthError, `expected an AuthError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  });
}

function throws(fn: () => void, code: AuthErrorCode, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AuthError, `expected an AuthError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  });
}

function withField(
  fields: ReadonlyMap<string, string>,
  name: string,
  value: string | undefined,
): Map<string, string> {
  const copy = new Map(fields);
  if (value === undefined) copy.delete(name);
  else copy.set(name, value);
  return copy;
}

describe('verifyPostPolicy with forms from @aws-sdk/s3-presigned-post', () => {
  it('accepts a signed form and returns its conditions', async () => {
    const fields = await presignedFields({
      Key: 'uploads/${filename}',
      Conditions: [
        ['content-length-range', 1, 1000],
        ['starts-with', '$Content-Type', 'image/'],
      ],
      Fields: { acl: 'public-read', 'Content-Type': 'image/png', success_action_status: '201' },
      Expires: 600,
    });
    const { accessKeyId, conditions } = await verifyPostPolicy(fields, lookup, {
      now: new Date(),
      bucket: 'bucket',
    });
    assert.equal(accessKeyId, ACCESS_KEY);
    assert.deepEqual(conditions.contentLength, { min: 1, max: 1000 });
    assert.ok(conditions.expiration.getTime() > Date.now() + 590_000);
    const form = withField(fields, 'key', 'uploads/photo.png');
    checkPolicyConditions(conditions, form, 500);
    checkPolicyConditions(conditions, form, undefined);
    checkPolicyConditions(conditions, withField(form, 'file', 'ignored'), 1);
    checkPolicyConditions(conditions, withField(form, 'x-ignore-tracking', 'anything'), 1);
    throws(() => {
      checkPolicyConditions(conditions, form, 1001);
    }, 'EntityTooLarge');
    throws(() => {
      checkPolicyConditions(conditions, form, 0);
    }, 'EntityTooSmall');
    throws(
      () => {
        checkPolicyConditions(conditions, withField(form, 'key', 'elsewhere/photo.png'), 1);
      },
      'AccessDenied',
      /starts-with.*\$key/,
    );
    throws(
      () => {
        checkPolicyConditions(conditions, withField(form, 'acl', 'private'), 1);
      },
      'AccessDenied',
      /"eq", "\$acl"/,
    );
    throws(
      () => {
        checkPolicyConditions(conditions, withField(form, 'content-type', 'text/html'), 1);
      },
      'AccessDenied',
      /content-type/,
    );
    throws(
      () => {
        checkPolicyConditions(conditions, withField(form, 'x-amz-meta-evil', '1'), 1);
      },
      'AccessDenied',
      /Extra input fields: x-amz-meta-evil/,
    );
    throws(
      () => {
        checkPolicyConditions(conditions, withField(form, 'x-amz-storage-class', 'GLACIER'), 1);
      },
      'AccessDenied',
      /Extra input/,
    );
    throws(
      () => {
        checkPolicyConditions({ ...conditions, bucket: 'other' }, form, 1);
      },
      'AccessDenied',
      /bucket/,
    );
  });

  it('rejects a tampered, expired or unknown form', async () => {
    const fields = await presignedFields({ Key: 'exact-key', Expires: 60 });
    const now = new Date();
    const otherPolicy = Buffer.from(
      Buffer.from(fields.get('policy')!, 'base64').toString().replace('exact-key', 'other-key'),
    ).toString('base64');
    await rejects(
      verifyPostPolicy(withField(fields, 'policy', otherPolicy), lookup, { now, bucket: 'bucket' }),
      'SignatureDoesNotMatch',
    );
    const signature = fields.get('x-amz-signature')!;
    await rejects(
      verifyPostPolicy(
        withField(fields, 'x-amz-signature', (signature[0] === '0' ? '1' : '0') + signature.slice(1)),
        lookup,
        { now, bucket: 'bucket' },
      ),
      'SignatureDoesNotMatch',
    );
    await rejects(
      verifyPostPolicy(fields, () => Promise.resolve(undefined), { now, bucket: 'bucket' }),
      'InvalidAccessKeyId',
    );
    await rejects(
      verifyPostPolicy(fields, lookup, { now: new Date(now.getTime() + 61_000), bucket: 'bucket' }),
      'AccessDenied',
      /Policy expired/,
    );
    const { conditions } = await verifyPostPolicy(fields, lookup, { now, bucket: 'bucket' });
    checkPolicyConditions(conditions, fields, 0);
    throws(
      () => {
        checkPolicyConditions(conditions, withField(fields, 'key', 'exact-key2'), 0);
      },
      'AccessDenied',
      /"eq", "\$key"/,
    );
  });

  it('requires the SigV4 fields', async () => {
    const fields = await presignedFields({ Key: 'k' });
    const now = new Date();
    for (const name of ['x-amz-credential', 'x-amz-date', 'x-amz-algorithm', 'x-amz-signature']) {
      await rejects(
        verifyPostPolicy(withField(fields, name, undefined), lookup, { now, bucket: 'bucket' }),
        'InvalidArgument',
        new RegExp(name),
      );
    }
    await rejects(
      verifyPostPolicy(withField(fields, 'x-amz-algorithm', 'AWS4-HMAC-SHA1'), lookup, {
        now,
        bucket: 'bucket',
      }),
      'InvalidArgument',
    );
    await rejects(
      verifyPostPolicy(withField(fields, 'x-amz-date', '20000101T000000Z'), lookup, {
        now,
        bucket: 'bucket',
      }),
      'InvalidArgument',
      /credential date/,
    );
    const credential = fields.get('x-amz-credential')!;
    await rejects(
      verifyPostPolicy(withField(fields, 'x-amz-credential', credential.replace('/s3/', '/sqs/')), lookup, {
        now,
        bucket: 'bucket',
      }),
      'InvalidArgument',
      /service/,
    );
    await rejects(
      verifyPostPolicy(new Map([['key', 'k']]), lookup, { now, bucket: 'bucket' }),
      'AccessDenied',
      /Anonymous/,
    );
    await rejects(
      verifyPostPolicy(
        new Map([
          ['key', 'k'],
          ['awsaccesskeyid', 'AK'],
          ['policy', 'e30='],
          ['signature', 'x'],
        ]),
        lookup,
        { now, bucket: 'bucket' },
      ),
      'InvalidRequest',
      /Version 2/,
    );
  });
});

describe('POST policy documents', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  const verify = (policy: string): Promise<{ accessKeyId: string; conditions: PolicyConditions }> =>
    verifyPostPolicy(signedFields(policy), lookup, { now, bucket: 'bucket' });

  it('rejects documents that are not valid policies', async () => {
    for (const policy of [
      'not json',
      '[]',
      '{"conditions": []}',
      '{"expiration": "tomorrow", "conditions": []}',
      '{"expiration": "2030-01-02T00:00:00.000Z"}',
      '{"expiration": "2030-01-02T00:00:00.000Z", "conditions": [["eq", "key", "x"]]}',
      '{"expiration": "2030-01-02T00:00:00.000Z", "conditions": [["matches", "$key", "x"]]}',
      '{"expiration": "2030-01-02T00:00:00.000Z", "conditions": [["eq", "$key"]]}',
      '{"expiration": "2030-01-02T00:00:00.000Z", "conditions": [["content-length-range", 10, 1]]}',
      '{"expiration": "2030-01-02T00:00:00.000Z", "conditions": [["content-length-range", -1, 1]]}',
      '{"expiration": "2030-01-02T00:00:00.000Z", "conditions": [{"key": 1}]}',
      '{"expiration": "2030-01-02T00:00:00.000Z", "conditions": ["key"]}',
    ]) {
      await rejects(verify(policy), 'InvalidPolicyDocument');
    }
  });

  it('reads the three condition forms, case-insensitive names, and string lengths', async () => {
    const { conditions } = await verify(
      JSON.stringify({
        expiration: '2030-01-02T00:00:00Z',
        conditions: [
          { Bucket: 'bucket', 'X-Amz-Meta-Tag': 'blue' },
          ['EQ', '$Key', 'k'],
          ['starts-with', '$Content-Type', ''],
          ['content-length-range', '0', '10'],
          ['content-length-range', 2, 20],
        ],
      }),
    );
    assert.deepEqual(conditions.rules, [
      { kind: 'eq', field: 'bucket', value: 'bucket' },
      { kind: 'eq', field: 'x-amz-meta-tag', value: 'blue' },
      { kind: 'eq', field: 'key', value: 'k' },
      { kind: 'starts-with', field: 'content-type', prefix: '' },
      { kind: 'content-length-range', min: 0, max: 10 },
      { kind: 'content-length-range', min: 2, max: 20 },
    ]);
    assert.deepEqual(conditions.contentLength, { min: 2, max: 10 });
    const form = new Map([
      ['key', 'k'],
      ['x-amz-meta-tag', 'blue'],
      ['content-type', 'anything/at-all'],
    ]);
    checkPolicyConditions(conditions, form, 5);
    throws(() => {
      checkPolicyConditions(conditions, form, 11);
    }, 'EntityTooLarge');
    throws(() => {
      checkPolicyConditions(conditions, form, 1);
    }, 'EntityTooSmall');
    throws(
      () => {
        checkPolicyConditions(conditions, new Map([['key', 'k']]), 5);
      },
      'AccessDenied',
      /x-amz-meta-tag/,
    );
  });

  it('checks every type of a comma-separated Content-Type', async () => {
    const { conditions } = await verify(
      JSON.stringify({
        expiration: '2030-01-02T00:00:00.000Z',
        conditions: [['starts-with', '$content-type', 'image/']],
      }),
    );
    checkPolicyConditions(conditions, new Map([['content-type', 'image/png, image/jpeg']]), 1);
    throws(() => {
      checkPolicyConditions(conditions, new Map([['content-type', 'image/png,text/html']]), 1);
    }, 'AccessDenied');
  });

  it('requires a condition for every form field but the exempt ones', async () => {
    const { conditions } = await verify(
      JSON.stringify({ expiration: '2030-01-02T00:00:00.000Z', conditions: [] }),
    );
    const exempt = signedFields('{}', { file: 'x', 'x-ignore-me': 'y' });
    for (const name of ['x-amz-algorithm', 'x-amz-credential', 'x-amz-date']) {
      throws(
        () => {
          checkPolicyConditions(conditions, exempt, 1);
        },
        'AccessDenied',
        new RegExp(name),
      );
      exempt.delete(name);
    }
    checkPolicyConditions(conditions, exempt, 1);
  });
});
