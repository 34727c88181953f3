/** An authenticated caller: the user a key belongs to, and the key it signed with. */
export interface Identity {
  /** The user's name: what buckets, webhooks and events record as owner or principal. */
  readonly userName: string;
  readonly accessKeyId: string;
  readonly role: 'admin' | 'user';
}

export function isAdmin(identity: Identity): boolean {
  return identity.role === 'admin';
}
