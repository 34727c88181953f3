export type DialectKind = 'sqlite' | 'postgres';
