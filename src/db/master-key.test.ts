import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { loadMasterKey } from './master-key.ts';

describe('loadMasterKey', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'bucketbell-master-key-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('generates a key into a new data folder, owner-only, and reads the same key back', () => {
    const dataDir = path.join(root, 'a', 'b', 'data');
    const key = loadMasterKey(undefined, dataDir);
    assert.equal(key.length, 32);
    const file = path.join(dataDir, 'master.key');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(readFileSync(file, 'utf8'), `${key.toString('base64')}\n`);
    assert.deepEqual(readdirSync(dataDir), ['master.key'], 'no temporary file is left behind');
    assert.deepEqual(loadMasterKey(undefined, dataDir), key);
  });

  it('never overwrites an existing key file, even one that holds no valid key', () => {
    const file = path.join(root, 'master.key');
    const existing = randomBytes(32);
    writeFileSync(file, `${existing.toString('base64')}\n`, { mode: 0o600 });
    assert.deepEqual(loadMasterKey(undefined, root), existing);

    writeFileSync(file, '');
    assert.throws(() => loadMasterKey(undefined, root), /does not hold a 32-byte base64 key/);
    assert.equal(readFileSync(file, 'utf8'), '', 'a damaged key file is left for the operator to restore');
    assert.deepEqual(readdirSync(root), ['master.key']);
  });

  it('takes BUCKETBELL_MASTER_KEY over the data folder, and writes nothing', () => {
    const configured = randomBytes(32);
    assert.deepEqual(loadMasterKey(configured.toString('base64'), root), configured);
    assert.deepEqual(readdirSync(root), []);
    assert.throws(
      () => loadMasterKey(randomBytes(16).toString('base64'), root),
      /BUCKETBELL_MASTER_KEY must be 32 random bytes/,
    );
    assert.deepEqual(readdirSync(root), []);
  });
});
