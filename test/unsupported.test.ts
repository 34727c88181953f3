import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CopyObjectCommand,
  type CopyObjectCommandInput,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetBucketMetadataConfigurationCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { countBlobFiles } from './support/blob-files.ts';
import { rawRequest } from './support/raw-request.ts';
import { expectS3Error, parseErrorXml } from './support/s3-errors.ts';
import { startServer, type TestServer } from './support/test-server.ts';

/** What is not implemented answers NotImplemented (501) and changes nothing: never a wrong success. */
describe('unsupported operations and options', () => {
  let server: TestServer;
  let s3: S3Client;
  const bucket = 'unsupported';
  before(async () => {
    server = await startServer();
    s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'kept.txt', Body: 'kept' }));
  });
  after(() => server.cleanup());

  async function keysInBucket(): Promise<string[]> {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    return (listed.Contents ?? []).map((c) => c.Key!);
  }

  it('answers NotImplemented for every sub-resource and parameter it does not implement', async () => {
    const cases: [method: string, path: string][] = [
      ['GET', `/${bucket}?metadataConfiguration`],
      ['POST', `/${bucket}?metadataConfiguration`],
      ['GET', `/${bucket}?abac`],
      ['GET', `/${bucket}?versions`],
      ['GET', `/${bucket}?acl`],
      ['GET', `/${bucket}?list-type=2&foo=bar`],
      ['GET', `/${bucket}/kept.txt?annotation`],
      ['GET', `/${bucket}/kept.txt?attributes`],
      ['DELETE', `/${bucket}/kept.txt?tagging`],
      ['PUT', `/${bucket}/kept.txt?retention`],
      ['GET', '/?x-id=ListDirectoryBuckets'],
    ];
    for (const [method, target] of cases) {
      const res = await rawRequest(server.s3Url, { method, path: target });
      assert.equal(res.status, 501, `${method} ${target}: ${res.body}`);
      const error = parseErrorXml(res.body);
      assert.equal(error.code, 'NotImplemented', `${method} ${target}`);
      assert.notEqual(error.requestId, '');
    }
    assert.deepEqual(await keysInBucket(), ['kept.txt']);
    await expectS3Error(
      s3.send(new GetBucketMetadataConfigurationCommand({ Bucket: bucket })),
      'NotImplemented',
      501,
    );
    await expectS3Error(s3.send(new ListObjectVersionsCommand({ Bucket: bucket })), 'NotImplemented', 501);
    await expectS3Error(
      s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'kept.txt' })),
      'NotImplemented',
      501,
    );
  });

  it('does not run CreateBucket or PutObject for a sub-resource it does not implement', async () => {
    const abac = await rawRequest(server.s3Url, {
      method: 'PUT',
      path: '/abac-bucket?abac',
      body: '<AbacStatus><Status>Enabled</Status></AbacStatus>',
    });
    assert.equal(abac.status, 501, abac.body);
    await assert.rejects(s3.send(new HeadBucketCommand({ Bucket: 'abac-bucket' })), /NotFound|404/);
    const rename = await rawRequest(server.s3Url, {
      method: 'PUT',
      path: `/${bucket}/renamed.txt?renameObject`,
      headers: { 'x-amz-rename-source': `/${bucket}/kept.txt` },
    });
    assert.equal(rename.status, 501, rename.body);
    const metadataTable = await rawRequest(server.s3Url, {
      method: 'PUT',
      path: `/${bucket}/journal?metadataJournalTable`,
      body: 'not an object',
    });
    assert.equal(metadataTable.status, 501, metadataTable.body);
    assert.deepEqual(await keysInBucket(), ['kept.txt']);
  });

  it('refuses object lock, appends and server-side encryption on PutObject, storing nothing', async () => {
    const blobs = await countBlobFiles(server.dataDir);
    const refused: [string, Partial<PutObjectCommandInput>][] = [
      ['SSE-KMS', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'alias/some-key' }],
      ['SSE-S3 (bytes are not encrypted at rest)', { ServerSideEncryption: 'AES256' }],
      [
        'object lock mode',
        { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: new Date(Date.now() + 86_400_000) },
      ],
      ['legal hold', { ObjectLockLegalHoldStatus: 'ON' }],
      ['write offset (append)', { WriteOffsetBytes: 0 }],
    ];
    for (const [what, extra] of refused) {
      await expectS3Error(
        s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'refused.bin', Body: 'secret', ...extra })),
        'NotImplemented',
        501,
      ).catch((err: unknown) => {
        throw new Error(`${what}: ${String(err)}`);
      });
    }
    const key = randomBytes(32);
    const ssec = await rawRequest(server.s3Url, {
      method: 'PUT',
      path: `/${bucket}/refused.bin`,
      body: 'secret',
      headers: {
        'x-amz-server-side-encryption-customer-algorithm': 'AES256',
        'x-amz-server-side-encryption-customer-key': key.toString('base64'),
        'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(key).digest('base64'),
      },
    });
    assert.equal(ssec.status, 501, ssec.body);
    assert.equal(parseErrorXml(ssec.body).code, 'NotImplemented');
    await expectS3Error(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'refused.bin' })),
      'NoSuchKey',
      404,
    );
    assert.equal(await countBlobFiles(server.dataDir), blobs);
  });

  it('refuses the same options on CopyObject and CreateMultipartUpload, creating nothing', async () => {
    const copyOptions: Partial<CopyObjectCommandInput>[] = [
      { ServerSideEncryption: 'aws:kms' },
      { IfNoneMatch: '*' },
    ];
    for (const option of copyOptions) {
      await expectS3Error(
        s3.send(
          new CopyObjectCommand({
            Bucket: bucket,
            Key: 'copied.txt',
            CopySource: `${bucket}/kept.txt`,
            ...option,
          }),
        ),
        'NotImplemented',
        501,
      );
    }
    await expectS3Error(
      s3.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mpu.bin', ObjectLockLegalHoldStatus: 'ON' }),
      ),
      'NotImplemented',
      501,
    );
    assert.deepEqual(await keysInBucket(), ['kept.txt']);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    assert.deepEqual(uploads.Uploads ?? [], []);
  });
});
