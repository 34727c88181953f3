import { ONLY_ADMINS, refusalOf, type Cidr } from './address-policy.ts';
import type { CheckAddress } from './http-sender.ts';

export interface AddressGuardOptions {
  /** Networks accepted whatever their class (the server's `webhook_allowed_cidrs`). */
  readonly allowedCidrs: readonly Cidr[];
}

/**
 * The dial-time SSRF guard for endpoints of non-admin owners: give it to `new HttpSender({ checkAddress })`,
 * which consults it for every address a URL's host is or resolves to, right before connecting to
 * exactly that address. Refuses every non-public address (loopback, private, link-local, CGNAT,
 * multicast, unspecified, unique-local, reserved...) outside `allowedCidrs`.
 */
export function createAddressGuard(options: AddressGuardOptions): CheckAddress {
  const policy = { allowPrivate: false, allowedCidrs: options.allowedCidrs };
  return (address) => {
    const refusal = refusalOf(address, policy);
    return refusal === undefined ? undefined : `it is ${refusal.description}; ${ONLY_ADMINS}`;
  };
}
