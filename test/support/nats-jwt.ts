// A small NATS JWT encoder for tests: operator, account and user claims
// signed with ed25519 nkeys, and a .creds file. Enough for a server in
// operator mode with a memory resolver.
import { createHash } from 'node:crypto';
import { createAccount, createOperator, createUser, type KeyPair } from '@nats-io/nkeys';

const b64url = (b: Uint8Array | string): string => Buffer.from(b).toString('base64url');
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

export function encodeJwt(
  issuer: KeyPair,
  subject: string,
  name: string,
  nats: Record<string, unknown>,
): string {
  const claims: Record<string, unknown> = {
    iat: Math.floor(Date.now() / 1000),
    iss: issuer.getPublicKey(),
    name,
    sub: subject,
    nats: { ...nats, version: 2 },
  };
  claims.jti = base32(createHash('sha256').update(JSON.stringify(claims)).digest());
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
  const body = b64url(JSON.stringify(claims));
  const sig = issuer.sign(new TextEncoder().encode(`${header}.${body}`));
  return `${header}.${body}.${b64url(sig)}`;
}

export function credsFile(jwt: string, seed: Uint8Array): string {
  return `-----BEGIN NATS USER JWT-----
${jwt}
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.

-----BEGIN USER NKEY SEED-----
${new TextDecoder().decode(seed)}
------END USER NKEY SEED------
`;
}

const UNLIMITED = { subs: -1, data: -1, payload: -1 };

export interface Permissions {
  pub?: { allow?: string[]; deny?: string[] };
  sub?: { allow?: string[]; deny?: string[] };
}

/** An operator, a system account, an application account with JetStream, and users in it. */
export class OperatorChain {
  readonly operator = createOperator();
  readonly system = createAccount();
  readonly account = createAccount();

  operatorJwt(): string {
    return encodeJwt(this.operator, this.operator.getPublicKey(), 'test-operator', {
      type: 'operator',
      system_account: this.system.getPublicKey(),
    });
  }

  accountJwt(kp: KeyPair, name: string, jetstream: boolean): string {
    return encodeJwt(this.operator, kp.getPublicKey(), name, {
      type: 'account',
      limits: {
        subs: -1,
        conn: -1,
        leaf: -1,
        imports: -1,
        exports: -1,
        data: -1,
        payload: -1,
        wildcards: true,
        ...(jetstream ? { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 } : {}),
      },
      default_permissions: { pub: {}, sub: {} },
    });
  }

  /** A user of the application account: its .creds text. */
  user(name: string, perms: Permissions = {}): string {
    const u = createUser();
    const jwt = encodeJwt(this.account, u.getPublicKey(), name, {
      type: 'user',
      ...UNLIMITED,
      pub: perms.pub ?? {},
      sub: perms.sub ?? {},
    });
    return credsFile(jwt, u.getSeed());
  }

  serverConfig(): string {
    return `operator: ${this.operatorJwt()}
system_account: ${this.system.getPublicKey()}
resolver: MEMORY
resolver_preload: {
  ${this.system.getPublicKey()}: ${this.accountJwt(this.system, 'SYS', false)}
  ${this.account.getPublicKey()}: ${this.accountJwt(this.account, 'APP', true)}
}
`;
  }
}
