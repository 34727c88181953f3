import assert from 'node:assert/strict';
import { createDecipheriv } from 'node:crypto';
import { queryServerDb } from './inspect-db.ts';

/**
 * Opens a value sealed under the master key, written from the format (`v1:` + base64 of a 12-byte IV,
 * the 16-byte GCM tag and the ciphertext) rather than with the server's own code: it succeeds only if
 * the value really is AES-256-GCM under that key.
 */
export function openSealed(masterKey: Buffer, sealed: unknown): string {
  assert.equal(typeof sealed, 'string');
  const [version, data] = (sealed as string).split(':');
  assert.equal(version, 'v1');
  const raw = Buffer.from(data ?? '', 'base64');
  const decipher = createDecipheriv('aes-256-gcm', masterKey, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}

/** Every row of every table of the server's database, as text; `table` must be among them. */
export async function dumpServerDb(
  server: { readonly dataDir: string; readonly databaseUrl: string | undefined },
  table: string,
): Promise<string> {
  const tables =
    server.databaseUrl === undefined
      ? await queryServerDb(server, "SELECT name FROM sqlite_master WHERE type = 'table'")
      : await queryServerDb(
          server,
          "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        );
  assert.ok(
    tables.some((t) => t['name'] === table),
    JSON.stringify(tables),
  );
  let text = '';
  for (const { name } of tables) {
    const rows = await queryServerDb(server, `SELECT * FROM "${String(name)}"`);
    text += `${String(name)}: ${JSON.stringify(rows)}\n`;
  }
  return text;
}
