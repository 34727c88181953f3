import type { Compilable, CompiledQuery, DialectAdapter } from 'kysely';
import type { Executor } from './database.ts';

/**
 * A query of fixed shape, built and compiled once per dialect and then run with new parameter values:
 * building and compiling a Kysely query costs more CPU than running it on SQLite, and the hot path (a
 * small PUT) runs a handful of them. `build` receives placeholders in place of the values; each must be
 * bound as a plain parameter (`where(col, '=', value)`, `in [value, ...]`), never spliced into the SQL.
 */
export function preparedQuery<A extends readonly unknown[], R>(
  arity: A['length'],
  build: (db: Executor, ...placeholders: A) => Compilable<R>,
): (db: Executor, ...args: A) => Promise<R[]> {
  const byAdapter = new WeakMap<DialectAdapter, { compiled: CompiledQuery<R>; slots: number[] }>();
  const placeholders = Array.from({ length: arity }, (_, i) => `\u0000prepared-query-parameter-${i}\u0000`);
  return async (db, ...args) => {
    const adapter = db.getExecutor().adapter;
    let entry = byAdapter.get(adapter);
    if (entry === undefined) {
      const compiled = build(db, ...(placeholders as unknown as A)).compile();
      const slots = compiled.parameters.map((p) => placeholders.indexOf(p as string));
      if (slots.filter((s) => s !== -1).length !== arity)
        throw new Error(`a prepared query must bind each of its ${arity} values once`);
      entry = { compiled, slots };
      byAdapter.set(adapter, entry);
    }
    const { compiled, slots } = entry;
    const parameters = compiled.parameters.map((p, i) => (slots[i] === -1 ? p : args[slots[i]!]));
    const result = await db.executeQuery<R>({ ...compiled, parameters });
    return result.rows;
  };
}
