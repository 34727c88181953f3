import type { Compilable, CompiledQuery, DialectAdapter, Insertable, QueryResult, Selectable } from 'kysely';
import type { Executor } from './database.ts';
import type { Schema } from './schema.ts';

/**
 * A query of fixed shape, built and compiled once per dialect and then run with new parameter values,
 * resolving to the whole result (rows and, for writes, `numAffectedRows`): building and compiling a
 * Kysely query costs more CPU than running it on SQLite, and the hot paths (a small PUT, a delivery)
 * run a handful of them. `build` receives placeholders in place of the values; each must be bound as a
 * plain parameter (`where(col, '=', value)`, `set({ col: value })`, `in [value, ...]`), never spliced
 * into the SQL.
 */
export function preparedStatement<A extends readonly unknown[], R>(
  arity: A['length'],
  build: (db: Executor, ...placeholders: A) => Compilable<R>,
): (db: Executor, ...args: A) => Promise<QueryResult<R>> {
  const compile = compiler(arity, build);
  return (db, ...args) => db.executeQuery<R>(compile(db, args));
}

/**
 * `preparedStatement` whose rows are read `chunkSize` at a time, so a reader that stops early reads no
 * more. SQLite only: Kysely streams from PostgreSQL only through pg-cursor, which bucketbell does not use.
 */
export function preparedStream<A extends readonly unknown[], R>(
  arity: A['length'],
  build: (db: Executor, ...placeholders: A) => Compilable<R>,
  chunkSize = 100,
): (db: Executor, ...args: A) => AsyncGenerator<R> {
  const compile = compiler(arity, build);
  return async function* (db, ...args) {
    for await (const result of db.getExecutor().stream(compile(db, args), chunkSize)) yield* result.rows;
  };
}

/** The query `build` makes, compiled once per dialect, with `args` in place of its placeholders. */
function compiler<A extends readonly unknown[], R>(
  arity: A['length'],
  build: (db: Executor, ...placeholders: A) => Compilable<R>,
): (db: Executor, args: A) => CompiledQuery<R> {
  const byAdapter = new WeakMap<DialectAdapter, { compiled: CompiledQuery<R>; slots: number[] }>();
  const placeholders = Array.from({ length: arity }, (_, i) => `\u0000prepared-query-parameter-${i}\u0000`);
  return (db, args) => {
    const adapter = db.getExecutor().adapter;
    let entry = byAdapter.get(adapter);
    if (entry === undefined) {
      const compiled = build(db, ...(placeholders as unknown as A)).compile();
      const slots = compiled.parameters.map((p) => placeholders.indexOf(p as string));
      if (new Set(slots.filter((s) => s !== -1)).size !== arity)
        throw new Error(`a prepared query must bind each of its ${arity} values`);
      entry = { compiled, slots };
      byAdapter.set(adapter, entry);
    }
    const { compiled, slots } = entry;
    return {
      ...compiled,
      parameters: compiled.parameters.map((p, i) => (slots[i] === -1 ? p : args[slots[i]!])),
    };
  };
}

/** `preparedStatement` for a query whose rows are all the caller needs. */
export function preparedQuery<A extends readonly unknown[], R>(
  arity: A['length'],
  build: (db: Executor, ...placeholders: A) => Compilable<R>,
): (db: Executor, ...args: A) => Promise<R[]> {
  const run = preparedStatement(arity, build);
  return async (db, ...args) => (await run(db, ...args)).rows;
}

type Inserted<T extends keyof Schema, C extends keyof Selectable<Schema[T]> & string> = Pick<
  Selectable<Schema[T]>,
  C
>;

/**
 * Inserts one row into `table` through a statement compiled once per column list (a table has a
 * handful of call sites, so a handful of lists), returning the `returning` columns. A row with an
 * undefined value takes the ordinary path, which leaves that column out.
 */
export function preparedInsert<
  T extends keyof Schema,
  C extends keyof Selectable<Schema[T]> & string = never,
>(
  table: T,
  returning: readonly C[] = [],
): (db: Executor, row: Insertable<Schema[T]>) => Promise<Inserted<T, C>[]> {
  const byColumns = new Map<string, (db: Executor, ...values: unknown[]) => Promise<unknown[]>>();
  const statement = (db: Executor, row: Insertable<Schema[T]>) => {
    const insert = db.insertInto(table).values(row);
    // Kysely cannot follow a generic table name through `returning`; `C` already limits it to its columns.
    return returning.length === 0 ? insert : insert.returning(returning as never);
  };
  return async (db, row) => {
    const fields = row as Record<string, unknown>;
    const columns = Object.keys(fields);
    const values = columns.map((c) => fields[c]);
    if (values.includes(undefined))
      return (await statement(db, row).execute()) as unknown as Inserted<T, C>[];
    const list = columns.join(',');
    let insert = byColumns.get(list);
    if (insert === undefined) {
      insert = preparedQuery(columns.length, (ex, ...placeholders: unknown[]) =>
        statement(
          ex,
          Object.fromEntries(columns.map((c, i) => [c, placeholders[i]])) as Insertable<Schema[T]>,
        ),
      );
      if (byColumns.size < 32) byColumns.set(list, insert);
    }
    return (await insert(db, ...values)) as Inserted<T, C>[];
  };
}
