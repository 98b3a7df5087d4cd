// A fleet operator's signing key for tests: entries put into the policy
// bucket are signed with it, and hosts trust its public key.
import { createUser } from '@nats-io/nkeys';
import { signEntry } from '../../src/fleet/signature.ts';

export const OPERATOR = createUser();
/** fleet.trustedKeys of the test hosts */
export const TRUSTED_KEYS = [OPERATOR.getPublicKey()];

/** The bucket value of `text` under `key`, signed by OPERATOR. */
export function signed(key: string, text: string): string {
  return signEntry(OPERATOR, key, text);
}
