import type { Executor } from '../db/database.ts';
import type { SecretBox } from '../db/secret-box.ts';
import { findActiveCredential } from '../db/user-repository.ts';
import type { Identity } from './identity.ts';

const CACHE_MS = 5_000;

interface Entry {
  readonly identity: Identity;
  readonly secret: string;
  readonly until: number;
}

/** Looks up enabled keys of enabled users for signature checks, with a short cache (5 s across instances; at once locally via forget). */
export class CredentialStore {
  readonly #db: Executor;
  readonly #box: SecretBox;
  readonly #cache = new Map<string, Entry>();

  constructor(db: Executor, box: SecretBox) {
    this.#db = db;
    this.#box = box;
  }

  async lookupSecret(accessKeyId: string): Promise<string | undefined> {
    return (await this.#entry(accessKeyId))?.secret;
  }

  async findIdentity(accessKeyId: string): Promise<Identity | undefined> {
    return (await this.#entry(accessKeyId))?.identity;
  }

  /** Drops cached credentials (after a key or user is disabled or deleted), so it takes effect at once. */
  forget(accessKeyId?: string): void {
    if (accessKeyId === undefined) this.#cache.clear();
    else this.#cache.delete(accessKeyId);
  }

  async #entry(accessKeyId: string): Promise<Entry | undefined> {
    const now = Date.now();
    const cached = this.#cache.get(accessKeyId);
    if (cached !== undefined && cached.until > now) return cached;
    const credential = await findActiveCredential(this.#db, accessKeyId);
    if (credential === undefined) {
      this.#cache.delete(accessKeyId);
      return undefined;
    }
    const entry: Entry = {
      identity: { userName: credential.user_name, accessKeyId, role: credential.role },
      secret: this.#box.open(credential.secret_ciphertext),
      until: now + CACHE_MS,
    };
    this.#cache.set(accessKeyId, entry);
    return entry;
  }
}
