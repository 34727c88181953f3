import type { Executor } from './database.ts';
import type { SecretBox } from './secret-box.ts';
import { initSetting, readSetting } from './settings-repository.ts';

const SETTING = 'master_key_check';
const PLAINTEXT = 'bucketbell master key check';

/** The master key is not the one the stored secrets were sealed with. */
export class MasterKeyMismatchError extends Error {
  readonly code = 'MASTER_KEY_MISMATCH';
  constructor() {
    super(
      'the master key (BUCKETBELL_MASTER_KEY, or master.key in the data folder) is not the one the secrets in this ' +
        'database were encrypted with; start with that key (every instance sharing a database needs the same one)',
    );
  }
}

function opens(box: SecretBox, sealed: string): boolean {
  try {
    box.open(sealed);
    return true;
  } catch {
    return false;
  }
}

/**
 * Refuses a master key that cannot open the stored secrets, before anything is sealed with it: a
 * value sealed at the first start (or, in a database from before this check, any access key) must
 * open. Without this, a wrong key (a lost master.key, or an instance sharing the database with its
 * own generated key) starts and then fails every signed request.
 */
export async function verifyMasterKey(db: Executor, box: SecretBox): Promise<void> {
  let sealed = await readSetting(db, SETTING);
  if (sealed === undefined) {
    const key = await db.selectFrom('access_keys').select('secret_ciphertext').limit(1).executeTakeFirst();
    if (key !== undefined && !opens(box, key.secret_ciphertext)) throw new MasterKeyMismatchError();
    sealed = await initSetting(db, SETTING, box.seal(PLAINTEXT));
  }
  if (!opens(box, sealed)) throw new MasterKeyMismatchError();
}
