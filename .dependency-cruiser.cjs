// Keeps the layer table of shared/DESIGN.md true: each rule names a folder and what it may NOT import.
const layers = {
  config: [],
  observability: ['config'],
  storage: ['config', 'observability'],
  db: ['config', 'observability'],
  events: [],
  delivery: ['db', 'events', 'config', 'observability'],
  mutations: ['storage', 'db', 'events', 'config', 'observability'],
  auth: ['db', 'config'],
  s3: ['config', 'observability', 'storage', 'db', 'events', 'delivery', 'mutations', 'auth'],
  admin: ['config', 'observability', 'storage', 'db', 'events', 'delivery', 'mutations', 'auth'],
  cli: ['admin', 'config', 'observability', 'server'],
};
const all = Object.keys(layers).concat(['server', 'console']);
const forbidden = Object.entries(layers).map(([layer, allowed]) => {
  const banned = all.filter((other) => other !== layer && !allowed.includes(other));
  return {
    name: `layer-${layer}`,
    comment: `src/${layer} may import only: ${allowed.join(', ') || 'nothing of ours'} (shared/DESIGN.md)`,
    severity: 'error',
    from: { path: `^src/${layer}/` },
    to: { path: `^src/(${banned.join('|')})(/|\\.ts$)` },
  };
});
// The CLI talks to the admin API over HTTP: it may share the API's view types, never its code.
forbidden.push({
  name: 'cli-admin-types-only',
  comment: 'src/cli may import only types from src/admin (the HTTP contract); it calls the API over HTTP',
  severity: 'error',
  from: { path: '^src/cli/' },
  to: { path: '^src/admin/', dependencyTypesNot: ['type-only'] },
});
forbidden.push({
  name: 'no-circular',
  severity: 'error',
  from: {},
  to: { circular: true },
});
module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
