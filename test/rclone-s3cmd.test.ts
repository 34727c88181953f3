import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { RCLONE_REMOTE, rcloneFor, type Rclone } from './support/cli-rclone.ts';
import { s3cmdFor, type S3cmd } from './support/cli-s3cmd.ts';
import { startServer, type TestServer } from './support/test-server.ts';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const fileSha256 = async (file: string) => sha256(await readFile(file));

/** Makes a file dated an hour back (so that a later edit is unmistakably newer). */
async function writeOldFile(file: string, data: string | Buffer): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, data);
  const hourAgo = new Date(Date.now() - 3_600_000);
  await utimes(file, hourAgo, hourAgo);
}

/** What the server holds, key -> size, read with the SDK (not with the tool under test). */
async function serverObjects(s3: S3Client, bucket: string): Promise<Map<string, number>> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  return new Map((listed.Contents ?? []).map((c) => [c.Key!, c.Size!]));
}

describe('rclone and s3cmd', () => {
  let server: TestServer;
  let s3: S3Client;
  let dir: string;
  before(async () => {
    server = await startServer();
    s3 = server.client();
    dir = await mkdtemp(path.join(tmpdir(), 'bucketbell-rclone-s3cmd-'));
  });
  after(async () => {
    await server.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  describe('rclone (provider Other, path style, v4)', () => {
    let rclone: Rclone;
    const remote = (p: string) => `${RCLONE_REMOTE}:${p}`;
    before(async () => {
      rclone = await rcloneFor(server.s3Url, path.join(dir, 'rclone-home'));
    });

    it('copies a folder up, lists it, checks hashes, copies it back with the same bytes', async () => {
      const src = path.join(dir, 'rclone-src');
      await writeOldFile(path.join(src, 'a.txt'), 'alpha');
      await writeOldFile(path.join(src, 'deep/er/b.bin'), randomBytes(150_000));
      await writeOldFile(path.join(src, 'with space ü.txt'), 'unicode and spaces');
      await writeOldFile(path.join(src, `it's "quoted" & <odd>.txt`), 'XML-special name');
      await rclone.ok(['mkdir', remote('rclone-bucket')]);
      assert.match((await rclone.ok(['lsd', remote('')])).stdout, / rclone-bucket$/m);

      await rclone.ok(['copy', src, remote('rclone-bucket/files')]);
      const listed = (await rclone.ok(['lsf', '-R', '--files-only', remote('rclone-bucket')])).stdout;
      assert.deepEqual(listed.trim().split('\n').sort(), [
        'files/a.txt',
        'files/deep/er/b.bin',
        `files/it's "quoted" & <odd>.txt`,
        'files/with space ü.txt',
      ]);
      assert.deepEqual(
        await serverObjects(s3, 'rclone-bucket'),
        new Map([
          ['files/a.txt', 5],
          ['files/deep/er/b.bin', 150_000],
          [`files/it's "quoted" & <odd>.txt`, 16],
          ['files/with space ü.txt', Buffer.byteLength('unicode and spaces')],
        ]),
      );
      // `check` compares sizes and MD5s (the server's ETags) of every file: no differences.
      await rclone.ok(['check', src, remote('rclone-bucket/files')]);

      const back = path.join(dir, 'rclone-back');
      await rclone.ok(['copy', remote('rclone-bucket/files'), back]);
      for (const name of ['a.txt', 'deep/er/b.bin', 'with space ü.txt', `it's "quoted" & <odd>.txt`]) {
        assert.equal(await fileSha256(path.join(back, name)), await fileSha256(path.join(src, name)), name);
      }
    });

    it('syncs only changed files on a second run, and deletes what is gone', async () => {
      const src = path.join(dir, 'rclone-sync');
      await writeOldFile(path.join(src, 'keep.txt'), 'keep');
      await writeOldFile(path.join(src, 'change.txt'), 'before');
      await writeOldFile(path.join(src, 'drop.txt'), 'drop');
      await rclone.ok(['mkdir', remote('rclone-sync')]);
      const first = await rclone.ok(['sync', '-v', src, remote('rclone-sync')]);
      assert.equal([...first.stderr.matchAll(/: Copied \(new\)/g)].length, 3, first.stderr);

      await writeFile(path.join(src, 'change.txt'), 'after, longer');
      await rm(path.join(src, 'drop.txt'));
      const second = await rclone.ok(['sync', '-v', src, remote('rclone-sync')]);
      const copied = [...second.stderr.matchAll(/INFO\s+: (\S+): Copied/g)].map((m) => m[1]);
      assert.deepEqual(copied, ['change.txt'], second.stderr);
      assert.match(second.stderr, /drop\.txt: Deleted/);
      assert.deepEqual(
        await serverObjects(s3, 'rclone-sync'),
        new Map([
          ['change.txt', Buffer.byteLength('after, longer')],
          ['keep.txt', 4],
        ]),
      );
      const third = await rclone.ok(['sync', '-v', src, remote('rclone-sync')]);
      assert.doesNotMatch(third.stderr, /Copied|Deleted/);
    });

    it('uploads a large file in parts and reads it back', async () => {
      const data = randomBytes(12 * 1024 * 1024);
      await writeFile(path.join(dir, 'rclone-large.bin'), data);
      await rclone.ok(['mkdir', remote('rclone-large')]);
      await rclone.ok([
        'copyto',
        '--s3-upload-cutoff',
        '5M',
        '--s3-chunk-size',
        '5M',
        path.join(dir, 'rclone-large.bin'),
        remote('rclone-large/large.bin'),
      ]);
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'rclone-large', Key: 'large.bin' }));
      assert.match(head.ETag ?? '', /^"[0-9a-f]{32}-3"$/);
      assert.equal(head.ContentLength, data.length);
      await rclone.ok(['copyto', remote('rclone-large/large.bin'), path.join(dir, 'rclone-large.down')]);
      assert.equal(await fileSha256(path.join(dir, 'rclone-large.down')), sha256(data));
    });

    it('deletes files and purges a bucket', async () => {
      await rclone.ok(['deletefile', remote('rclone-bucket/files/a.txt')]);
      const left = await serverObjects(s3, 'rclone-bucket');
      assert.ok(!left.has('files/a.txt'));
      assert.equal(left.size, 3);
      // rmdir refuses a bucket that holds objects.
      const refused = await rclone.run(['rmdir', remote('rclone-bucket')]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /BucketNotEmpty/);
      await rclone.ok(['purge', remote('rclone-bucket')]);
      assert.doesNotMatch((await rclone.ok(['lsd', remote('')])).stdout, /rclone-bucket/);
    });
  });

  describe('s3cmd (Signature V4, path style)', () => {
    let s3cmd: S3cmd;
    before(async () => {
      s3cmd = await s3cmdFor(server.s3Url, path.join(dir, 's3cmd-home'));
    });

    it('makes a bucket, puts, lists, gets the same bytes, and deletes', async () => {
      assert.match(await s3cmd.ok(['mb', 's3://s3cmd-bucket']), /Bucket 's3:\/\/s3cmd-bucket\/' created/);
      assert.match(await s3cmd.ok(['ls']), /s3:\/\/s3cmd-bucket$/m);

      const data = randomBytes(200_000);
      await writeFile(path.join(dir, 's3cmd.bin'), data);
      await writeFile(path.join(dir, 's3cmd note ü.txt'), 'a note');
      await s3cmd.ok(['put', path.join(dir, 's3cmd.bin'), 's3://s3cmd-bucket/dir/s3cmd.bin']);
      await s3cmd.ok(['put', path.join(dir, 's3cmd note ü.txt'), 's3://s3cmd-bucket/']);

      const top = await s3cmd.ok(['ls', 's3://s3cmd-bucket/']);
      assert.match(top, /DIR\s+s3:\/\/s3cmd-bucket\/dir\/$/m);
      assert.match(top, /\s6\s+s3:\/\/s3cmd-bucket\/s3cmd note ü\.txt$/m);
      const all = await s3cmd.ok(['ls', '--recursive', 's3://s3cmd-bucket/']);
      assert.match(all, /\s200000\s+s3:\/\/s3cmd-bucket\/dir\/s3cmd\.bin$/m);

      await s3cmd.ok(['get', 's3://s3cmd-bucket/dir/s3cmd.bin', path.join(dir, 's3cmd.down')]);
      assert.equal(await fileSha256(path.join(dir, 's3cmd.down')), sha256(data));
      const info = await s3cmd.ok(['info', 's3://s3cmd-bucket/dir/s3cmd.bin']);
      assert.match(info, new RegExp(`MD5 sum:\\s+${createHash('md5').update(data).digest('hex')}`));

      assert.match(
        await s3cmd.ok(['del', 's3://s3cmd-bucket/dir/s3cmd.bin']),
        /delete: 's3:\/\/s3cmd-bucket\/dir\/s3cmd\.bin'/,
      );
      assert.deepEqual([...(await serverObjects(s3, 's3cmd-bucket')).keys()], ['s3cmd note ü.txt']);

      // A bucket that still holds an object is not removed.
      const refused = await s3cmd.run(['rb', 's3://s3cmd-bucket']);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /BucketNotEmpty/);
      await s3cmd.ok(['del', '--recursive', '--force', 's3://s3cmd-bucket/']);
      assert.match(await s3cmd.ok(['rb', 's3://s3cmd-bucket']), /Bucket 's3:\/\/s3cmd-bucket\/' removed/);
      assert.doesNotMatch(await s3cmd.ok(['ls']), /s3cmd-bucket/);
    });

    it('syncs only changed files on a second run', async () => {
      const src = path.join(dir, 's3cmd-sync');
      await writeOldFile(path.join(src, 'one.txt'), 'one');
      await writeOldFile(path.join(src, 'two.txt'), 'two');
      await writeOldFile(path.join(src, 'sub/three.bin'), randomBytes(30_000));
      await s3cmd.ok(['mb', 's3://s3cmd-sync']);
      const uploads = (stdout: string) =>
        [...stdout.matchAll(/^upload: '.+' -> '(s3:\/\/[^']+)'/gm)].map((m) => m[1]).sort();

      const first = await s3cmd.ok(['sync', `${src}/`, 's3://s3cmd-sync/']);
      assert.deepEqual(uploads(first), [
        's3://s3cmd-sync/one.txt',
        's3://s3cmd-sync/sub/three.bin',
        's3://s3cmd-sync/two.txt',
      ]);
      await writeFile(path.join(src, 'two.txt'), 'two, edited');
      const second = await s3cmd.ok(['sync', `${src}/`, 's3://s3cmd-sync/']);
      assert.deepEqual(uploads(second), ['s3://s3cmd-sync/two.txt']);
      assert.deepEqual(uploads(await s3cmd.ok(['sync', `${src}/`, 's3://s3cmd-sync/'])), []);

      const back = path.join(dir, 's3cmd-back');
      await s3cmd.ok(['sync', 's3://s3cmd-sync/', `${back}/`]);
      for (const name of ['one.txt', 'two.txt', 'sub/three.bin']) {
        assert.equal(await fileSha256(path.join(back, name)), await fileSha256(path.join(src, name)), name);
      }
    });

    it('uploads a large file in parts and gets the same bytes back', async () => {
      const data = randomBytes(12 * 1024 * 1024);
      await writeFile(path.join(dir, 's3cmd-large.bin'), data);
      await s3cmd.ok(['mb', 's3://s3cmd-large']);
      await s3cmd.ok([
        'put',
        '--multipart-chunk-size-mb=5',
        path.join(dir, 's3cmd-large.bin'),
        's3://s3cmd-large/large.bin',
      ]);
      const head = await s3.send(new HeadObjectCommand({ Bucket: 's3cmd-large', Key: 'large.bin' }));
      assert.match(head.ETag ?? '', /^"[0-9a-f]{32}-3"$/);
      assert.equal(head.ContentLength, data.length);
      await s3cmd.ok(['get', 's3://s3cmd-large/large.bin', path.join(dir, 's3cmd-large.down')]);
      assert.equal(await fileSha256(path.join(dir, 's3cmd-large.down')), sha256(data));
    });
  });
});
