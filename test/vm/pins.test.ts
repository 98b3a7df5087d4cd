// Enforcement that outlives the daemon, with a BPF-LSM rule, on Debian's 6.1
// kernel under QEMU (one boot):
//   npx vitest run --project kernel test/vm/pins.test.ts
// An exec of /usr/bin/true is denied in a cgroup of the scenario's own; the
// daemon is SIGKILLed, the block holds, a restart adopts the pinned LSM link
// (attach the new program, then retire the old: LSM links cannot be updated
// in place) with no gap and no duplicate, and bpfgate unload removes it all.
import { beforeAll, describe, expect, it } from 'vitest';
import { EXEC_BLOCK_POLICY_FILE, execBlockShell, runExecBlockScenario } from '../support/guest-scenario.ts';
import { BPFGATE as CLI } from '../support/paths.ts';

/** Shell helpers shared by the guest scenarios. */
const SCENARIO_HELPERS = `
${execBlockShell()}
# program id behind a pinned link
link_prog() { bpftool link show pinned "$1" -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["prog_id"])'; }
# attached links per bg_* program name, as JSON
links_by_prog() {
  bpftool prog show -j > /tmp/progs.json
  bpftool link show -j > /tmp/links.json
  python3 -c '
import json, collections
names = {p["id"]: p.get("name", "") for p in json.load(open("/tmp/progs.json"))}
c = collections.Counter(names.get(l["prog_id"], "?") for l in json.load(open("/tmp/links.json")))
print(json.dumps({k: v for k, v in sorted(c.items()) if k.startswith("bg_")}))'
}
`;

let r: Record<string, string> = {};
let raw = '';

beforeAll(async () => {
  // the real CLI with the default pin root (/sys/fs/bpf/bpfgate) and the keep-enforcing stop
  const flags = `--policies ${EXEC_BLOCK_POLICY_FILE} --no-stdout --no-policy-watch --keep-enforcing`;
  const script = `
set -u
${SCENARIO_HELPERS}
bpfgate_start /dev/null /tmp/a.log ${flags}; A=$!
wait_enforcing /tmp/a.log $A || exit 10
echo "deny_a=$(intry)"
echo "outside_a=$(/usr/bin/true; echo $?)"
echo "links_a=$(ls $PINS/links | tr '\\n' ' ')"
OLD=$(link_prog $PINS/links/bg_lsm_bprm_check)
echo "old_prog=$OLD"

# exec attempts in the cgroup all along the kill and the restart
rm -f /tmp/stop /tmp/loop
nice -n 19 sh -c 'echo $$ > /sys/fs/cgroup/bgpins/cgroup.procs; ok=0; n=0
  while [ ! -e /tmp/stop ]; do if /usr/bin/true 2>/dev/null; then ok=$((ok+1)); fi; n=$((n+1)); done
  echo "$ok $n" > /tmp/loop' &
LOOP=$!
sleep 1

kill -9 $A; wait $A 2>/dev/null
echo "killed_a=$?"
echo "deny_killed=$(intry)"

bpfgate_start /dev/null /tmp/b.log ${flags}; B=$!
wait_enforcing /tmp/b.log $B || exit 11
grep -q 'adopting the enforcement a previous daemon left pinned' /tmp/b.log && echo adopted=1
touch /tmp/stop; wait $LOOP
echo "loop=$(cat /tmp/loop)"
NEW=$(link_prog $PINS/links/bg_lsm_bprm_check)
echo "new_prog=$NEW"
bpftool prog show id $OLD >/dev/null 2>&1; echo "old_prog_exists=$([ $? = 0 ] && echo yes || echo no)"
echo "links_by_prog=$(links_by_prog)"
echo "deny_b=$(intry)"

kill -TERM $B; wait $B; echo "term_b=$?"
echo "deny_after_keep_stop=$(intry)"
node ${CLI} unload > /tmp/unload.out 2>&1; echo "unload_rc=$?"
sed 's/^/unload_out=/' /tmp/unload.out
echo "pins_left=$([ -e $PINS ] && echo yes || echo no)"
echo "deny_after_unload=$(intry)"
echo "links_after_unload=$(links_by_prog)"
`;
  ({ values: r, raw } = await runExecBlockScenario(script, 'pins-vm-exec'));
});

describe('pinned LSM enforcement in the guest (Debian 6.1)', () => {
  it('blocks in the cgroup only, with every link pinned', () => {
    expect(r.deny_a, raw).not.toBe('0');
    expect(r.outside_a).toBe('0');
    expect(r.links_a!.trim().split(' ')).toContain('bg_lsm_bprm_check');
  });

  it('keeps blocking after SIGKILL of the daemon', () => {
    expect(r.killed_a).toBe('137');
    expect(r.deny_killed, raw).not.toBe('0');
  });

  it('a restart adopts the pins with no gap and no duplicate program', () => {
    expect(r.adopted, raw).toBe('1');
    const [ok, n] = r.loop!.split(' ').map(Number);
    expect(ok, raw).toBe(0);
    expect(n).toBeGreaterThan(10);
    expect(r.new_prog).not.toBe(r.old_prog);
    expect(r.old_prog_exists).toBe('no');
    const perProg = JSON.parse(r.links_by_prog!) as Record<string, number>;
    expect(perProg.bg_lsm_bprm_check).toBe(1);
    for (const [name, count] of Object.entries(perProg)) expect(count, name).toBe(1);
    expect(r.deny_b).not.toBe('0');
  });

  it('a keep-enforcing stop leaves the block; bpfgate unload removes everything', () => {
    expect(r.term_b).toBe('0');
    expect(r.deny_after_keep_stop).not.toBe('0');
    expect(r.unload_rc, raw).toBe('0');
    expect(raw).toContain('unload_out=detached bg_lsm_bprm_check');
    expect(raw).toContain('unload_out=removed /sys/fs/bpf/bpfgate');
    expect(r.pins_left).toBe('no');
    expect(r.deny_after_unload).toBe('0');
    expect(r.links_after_unload).toBe('{}');
  });
});
