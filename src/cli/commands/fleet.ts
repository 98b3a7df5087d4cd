// bpfgate fleet: the operator's side of signed fleet policies (docs/fleet.md).
//   keygen --out FILE                        a new signing key: the seed into FILE (0600), the public key printed
//   sign --seed-file F FILE | --empty        a policy file (or the empty-set marker) signed, printed
//   push --seed-file F [nats flags] FILE...  validated, signed and put into the bucket; the marker removed
//   push --seed-file F [nats flags] --empty  the signed marker put, then a signed tombstone on every policy
//   push --seed-file F [nats flags] --delete NAME...  a signed tombstone on each named policy
// The seed is read from a file only: never from the command line.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { Kvm } from '@nats-io/kv';
import { createUser, type KeyPair } from '@nats-io/nkeys';
import { UsageError, ValidationError } from '../../errors.ts';
import { FleetUnavailableError } from '../../fleet/kv.ts';
import { DEFAULT_FLEET_BUCKET } from '../../fleet/options.ts';
import { POLICY_KEY_PREFIX } from '../../fleet/select.ts';
import {
  EMPTY_MARKER_KEY,
  EMPTY_MARKER_TEXT,
  signEntry,
  signerFromSeed,
  TOMBSTONE_TEXT,
} from '../../fleet/signature.ts';
import { openConnection } from '../../nats/connect.ts';
import { natsFlagHelp, natsFlagOptions, parseNatsFlags } from '../../nats/flags.ts';
import { DEFAULT_NATS_URL } from '../../nats/options.ts';
import { loadPolicyFiles } from '../../policy/index.ts';
import { NAME_PATTERN } from '../../policy/schema-build.ts';
import { parseYaml } from '../../policy/yaml-positions.ts';
import { CREATE, openPrivate } from '../../private-fs.ts';
import { EXIT } from '../exit.ts';

const HELP = `usage: bpfgate fleet keygen --out FILE
       bpfgate fleet sign --seed-file FILE (POLICY.yaml | --empty)
       bpfgate fleet push --seed-file FILE [options] (POLICY.yaml... | --empty | --delete NAME...)

Signed fleet policies (docs/fleet.md). Hosts apply only entries signed by a
key in their fleet.trustedKeys.

  keygen   write a new signing key's seed to --out (created 0600, never
           overwritten) and print its public key, for fleet.trustedKeys
  sign     print the signed entry of one policy file (its key is
           policies.<metadata.name>), or of the empty-set marker
  push     validate the files as one set, sign each policy and put it into
           the bucket, then delete the empty-set marker; with --empty, put
           the signed marker and a signed tombstone on every policy; with
           --delete, a signed tombstone on each named policy (hosts refuse a
           policy deleted without one, and entries older than those applied)

  --seed-file FILE   the signing key's seed (from keygen); never on the command line
  --out FILE         keygen: where the seed goes
  --empty            the empty-set marker instead of policies
  --delete           the positionals are policy names to delete (push only)
  --bucket NAME      the fleet policy bucket (default ${DEFAULT_FLEET_BUCKET})
${natsFlagHelp(`server (repeatable; default ${DEFAULT_NATS_URL})`)}
`;

/** The bucket key of a policy file: policies.<metadata.name>; one document per file. */
function policyKey(file: string, text: string): string {
  const parsed = parseYaml(file, text);
  const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new ValidationError(errors);
  if (parsed.documents.length !== 1)
    throw new UsageError(
      `${file} holds ${parsed.documents.length} documents: the bucket takes one policy per key`,
    );
  const name = (parsed.documents[0]?.value as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  if (typeof name !== 'string') throw new UsageError(`${file}: metadata.name is missing`);
  return `${POLICY_KEY_PREFIX}${name}`;
}

async function signer(file: unknown): Promise<KeyPair> {
  if (typeof file !== 'string')
    throw new UsageError('--seed-file FILE is required (the seed is never read from the command line)');
  let seed: string;
  try {
    seed = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read the seed file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  try {
    return signerFromSeed(seed);
  } catch (err) {
    throw new UsageError(`${file}: ${(err as Error).message}`);
  }
}

/** The policy files, validated as one set, each with its key. */
async function policies(files: string[]): Promise<{ key: string; text: string }[]> {
  const result = await loadPolicyFiles(files);
  if (!result.set) throw new ValidationError(result.diagnostics.filter((d) => d.severity === 'error'));
  const out: { key: string; text: string }[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    out.push({ key: policyKey(file, text), text });
  }
  return out;
}

async function keygen(out: unknown): Promise<number> {
  if (typeof out !== 'string') throw new UsageError('keygen needs --out FILE');
  const kp = createUser();
  const fh = await openPrivate(out, CREATE).catch((err: Error) => {
    const code = ((err.cause ?? err) as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot create ${out}: ${code === 'EEXIST' ? 'it exists (never overwritten)' : err.message}`,
    );
  });
  try {
    await fh.writeFile(`${Buffer.from(kp.getSeed()).toString()}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  process.stdout.write(`${kp.getPublicKey()}\n`);
  process.stderr.write(
    `bpfgate fleet: seed written to ${basename(out)} (keep it off the hosts); put the public key above into fleet.trustedKeys\n`,
  );
  return EXIT.ok;
}

async function push(v: Record<string, unknown>, files: string[], kp: KeyPair): Promise<number> {
  const nats = parseNatsFlags(v, (line) => process.stderr.write(`bpfgate fleet: ${line}\n`));
  const entries = v.empty || v.delete ? [] : await policies(files);
  const servers = nats.servers.length > 0 ? nats.servers : [DEFAULT_NATS_URL];
  const bucket = (v.bucket as string | undefined) ?? DEFAULT_FLEET_BUCKET;
  const nc = await openConnection({
    servers,
    auth: nats.auth,
    name: 'bpfgate-fleet-push',
    maxReconnectAttempts: 0,
  }).catch((err: Error) => {
    throw new FleetUnavailableError(`cannot reach NATS at ${servers.join(', ')}: ${err.message}`, {
      cause: err,
    });
  });
  try {
    const kv = await new Kvm(nc).open(bucket);
    await kv.status().catch((err: Error) => {
      throw new FleetUnavailableError(`cannot open the bucket '${bucket}': ${err.message}`, { cause: err });
    });
    const tombstone = async (key: string) => {
      const rev = await kv.put(key, signEntry(kp, key, TOMBSTONE_TEXT));
      process.stdout.write(`deleted ${key}@rev${rev}\n`);
    };
    if (v.delete) {
      for (const name of files) await tombstone(`${POLICY_KEY_PREFIX}${name}`);
      return EXIT.ok;
    }
    if (v.empty) {
      // the marker first: a host never sees an empty bucket without it
      const rev = await kv.put(EMPTY_MARKER_KEY, signEntry(kp, EMPTY_MARKER_KEY, EMPTY_MARKER_TEXT));
      process.stdout.write(`${EMPTY_MARKER_KEY}@rev${rev}\n`);
      const keys: string[] = [];
      for await (const k of await kv.keys(`${POLICY_KEY_PREFIX}>`)) if (k !== EMPTY_MARKER_KEY) keys.push(k);
      for (const k of keys.sort()) {
        const e = await kv.get(k);
        if (e?.operation === 'PUT' && !e.string().startsWith(TOMBSTONE_TEXT)) await tombstone(k);
      }
      return EXIT.ok;
    }
    for (const e of entries) {
      const rev = await kv.put(e.key, signEntry(kp, e.key, e.text));
      process.stdout.write(`${e.key}@rev${rev}\n`);
    }
    const marker = await kv.get(EMPTY_MARKER_KEY);
    if (marker?.operation === 'PUT') await kv.delete(EMPTY_MARKER_KEY);
    return EXIT.ok;
  } finally {
    await nc.close().catch(() => {});
  }
}

export async function run(args: string[]): Promise<number> {
  let v: Record<string, unknown>;
  let positionals: string[];
  try {
    ({ values: v, positionals } = parseArgs({
      args,
      options: {
        ...natsFlagOptions(),
        'seed-file': { type: 'string' },
        out: { type: 'string' },
        empty: { type: 'boolean' },
        delete: { type: 'boolean' },
        bucket: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const [sub, ...files] = positionals;
  if (v.help || sub === undefined) {
    process.stdout.write(HELP);
    return v.help ? EXIT.ok : EXIT.usage;
  }
  if (sub === 'keygen') return keygen(v.out);
  if (sub !== 'sign' && sub !== 'push')
    throw new UsageError(`unknown subcommand '${sub}' (keygen, sign, push)`);
  if (v.empty ? files.length > 0 || v.delete : files.length === 0)
    throw new UsageError(`${sub} takes policy files, --empty, or --delete with policy names`);
  if (v.delete && sub !== 'push') throw new UsageError('--delete is for push');
  for (const name of v.delete ? files : [])
    if (!new RegExp(NAME_PATTERN).test(name))
      throw new UsageError(`--delete takes policy names (metadata.name), not '${name}'`);
  const kp = await signer(v['seed-file']);
  if (sub === 'push') return push(v, files, kp);
  if (v.empty) {
    process.stdout.write(signEntry(kp, EMPTY_MARKER_KEY, EMPTY_MARKER_TEXT));
    return EXIT.ok;
  }
  if (files.length !== 1) throw new UsageError('sign takes one policy file');
  const [e] = await policies(files);
  process.stdout.write(signEntry(kp, e!.key, e!.text));
  return EXIT.ok;
}
