/** Who made a change and from where; it travels into the change's event. */
export interface Actor {
  /** The user who made the change (the owner of the key that signed the request). */
  readonly principal: string;
  readonly sourceIp: string;
  readonly requestId: string;
}
