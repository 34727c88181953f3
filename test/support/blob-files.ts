import { opendir } from 'node:fs/promises';
import path from 'node:path';

/** Every file under the data folder's `blobs/` (none if it does not exist), relative to it, sorted. */
export async function blobFiles(dataDir: string): Promise<string[]> {
  const root = path.join(dataDir, 'blobs');
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await opendir(dir).catch(() => undefined);
    if (entries === undefined) return;
    for await (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else found.push(path.relative(root, full));
    }
  };
  await walk(root);
  return found.sort();
}

/** How many files there are under the data folder's `blobs/`. */
export async function countBlobFiles(dataDir: string): Promise<number> {
  return (await blobFiles(dataDir)).length;
}
