import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';

const KEY_FILE = 'master.key';

/**
 * The master key from BUCKETBELL_MASTER_KEY (base64 of 32 bytes), or from `<dataDir>/master.key`,
 * created with owner-only permissions at first start.
 *
 * A generated key is on disk before it is returned, so it is never used to encrypt anything that a
 * power cut could outlive: it is written to a temporary file (mode 0600) and fsynced, then linked into
 * place and the folder fsynced. Linking, unlike renaming, never replaces an existing file: when another
 * process sharing the data folder created the key first, its key is the one used.
 */
export function loadMasterKey(configured: string | undefined, dataDir: string): Buffer {
  if (configured !== undefined) {
    const key = Buffer.from(configured, 'base64');
    if (key.length !== 32) throw new Error('BUCKETBELL_MASTER_KEY must be 32 random bytes, base64-encoded');
    return key;
  }
  const file = path.join(dataDir, KEY_FILE);
  const existing = readKeyFile(file);
  if (existing !== undefined) return existing;
  const created = mkdirSync(dataDir, { recursive: true });
  if (created !== undefined) syncCreatedFolders(created, dataDir);
  const key = randomBytes(32);
  if (createKeyFile(file, key)) return key;
  const winner = readKeyFile(file);
  if (winner === undefined) throw new Error(`${file} vanished while it was being created`);
  return winner;
}

/** The key in `file`, or undefined when there is no such file. A file that holds no valid key is an error. */
function readKeyFile(file: string): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 key`);
  return key;
}

/** Durably creates `file` holding `key`; false (and nothing changed) when the file exists already. */
function createKeyFile(file: string, key: Buffer): boolean {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${KEY_FILE}.${randomBytes(8).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    try {
      fchmodSync(fd, 0o600); // whatever the umask
      const text = Buffer.from(`${key.toString('base64')}\n`);
      let written = 0;
      while (written < text.length) written += writeSync(fd, text, written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  } finally {
    unlinkSync(temp);
  }
  syncFolder(dir);
  return true;
}

/** `mkdirSync` created `created` and the folders below it down to `dataDir`: make their entries durable. */
function syncCreatedFolders(created: string, dataDir: string): void {
  let dir = path.resolve(dataDir);
  const top = path.resolve(created);
  for (;;) {
    syncFolder(path.dirname(dir));
    if (dir === top || path.dirname(dir) === dir) break;
    dir = path.dirname(dir);
  }
}

function syncFolder(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
