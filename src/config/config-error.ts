/** A setting that cannot be used; `key` names it as the YAML file spells it. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  readonly key: string;
  constructor(key: string, message: string) {
    super(`${key}: ${message}`);
    this.key = key;
  }
}
