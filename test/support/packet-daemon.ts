// What the packet-rule host tests ask of a daemon running in a namespace of
// a veth pair (test/support/netns.ts): its events by rule, its /status
// fetched from inside that namespace, and a rule's packet counters.
import { execFileSync } from 'node:child_process';
import type { DaemonProcess, Json } from './daemon.ts';
import type { NetnsPair, Side } from './netns.ts';

export function eventsOfRule(daemon: DaemonProcess, rule: string): Json[] {
  return daemon.events.filter((e) => (e.policy as Json | undefined)?.rule === rule);
}

/** The daemon's /status, fetched from inside `side`'s namespace (its loopback). */
export async function statusIn(daemon: DaemonProcess, net: NetnsPair, side: Side): Promise<Json> {
  const url = `${await daemon.metricsUrl()}/status`;
  const py =
    'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())';
  const argv = [...net.enter(side), 'python3', '-c', py, url];
  return JSON.parse(execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' })) as Json;
}

/** A rule's packet counters in a /status answer. */
export function countsOf(s: Json, rule: string): Json {
  const rules = (s.policies as Json[]).flatMap((p) => p.rules as Json[]);
  return rules.find((r) => r.rule === rule)!.packets as Json;
}

export async function settle(ms = 400): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}
