import type { Tx } from '../db/database.ts';
import type { Actor } from './actor.ts';
import type { ObjectChange } from './object-change.ts';

/**
 * The seam where a change's consequences are written: `record` runs inside the change's own
 * transaction (so an event and its deliveries commit or roll back with it), `afterCommit` after it.
 */
export interface ChangeRecorder {
  /** Resolves true when it queued something to deliver (then `afterCommit` is worth calling). */
  record(tx: Tx, changes: readonly ObjectChange[], actor: Actor): Promise<boolean>;
  afterCommit(): void;
}

export const noChangeRecorder: ChangeRecorder = {
  record: () => Promise.resolve(false),
  afterCommit: () => undefined,
};
