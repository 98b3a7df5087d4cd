// Self-protection on Debian's 6.1 kernel under QEMU (one boot):
//   npx vitest run --project kernel test/vm/protect.test.ts
// With protect on, another root process can neither kill, stop nor ptrace the
// daemon, nor detach its links, write its maps, remove its pins or unmount
// bpffs; bpfgate unload still works (through a request the daemon logs), and
// so does the break-glass file.
import { beforeAll, describe, expect, it } from 'vitest';
import { EXEC_BLOCK_POLICY_FILE, execBlockShell, runExecBlockScenario } from '../support/guest-scenario.ts';
import { BPFGATE as CLI } from '../support/paths.ts';

// ptrace(PTRACE_ATTACH) from another process: 0 or the errno
const PTRACE_PY = `
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
r = libc.ptrace(16, int(sys.argv[1]), None, None)
print(0 if r == 0 else ctypes.get_errno())
if r == 0:
    libc.ptrace(17, int(sys.argv[1]), None, None)
`;

let r: Record<string, string> = {};
let raw = '';

beforeAll(async () => {
  // the real CLI with the default pin root (/sys/fs/bpf/bpfgate), keep-enforcing and self-protection
  const flags = `--policies ${EXEC_BLOCK_POLICY_FILE} --no-stdout --no-policy-watch --keep-enforcing --protect`;
  const script = `
set -u
${execBlockShell()}
rc() { "$@" >/dev/null 2>/tmp/rc.err; echo "$? $(head -c 120 /tmp/rc.err | tr '\\n' ' ')"; }
prog_link_id() {
  bpftool prog show -j > /tmp/progs.json; bpftool link show -j > /tmp/links.json
  python3 -c '
import json, sys
ids = {p["id"] for p in json.load(open("/tmp/progs.json")) if p.get("name", "") == sys.argv[1]}
print(next(l["id"] for l in json.load(open("/tmp/links.json")) if l["prog_id"] in ids))' "$1"
}

bpfgate_start /dev/null /tmp/p.log ${flags}; P=$!
wait_log /tmp/p.log 'self-protection armed' $P || exit 10
echo "deny=$(intry)"

echo "kill9=$(rc kill -9 $P)"
echo "kill_term=$(rc kill -TERM $P)"
echo "kill_stop=$(rc kill -STOP $P)"
echo "kill0=$(rc kill -0 $P)"
echo "ptrace=$(python3 -c '${PTRACE_PY.replaceAll("'", "'\\''")}' $P)"
BPRM=$(link_id $PINS/links/bg_lsm_bprm_check)
echo "detach_link=$(rc bpftool link detach id $BPRM)"
PROT=$(prog_link_id bg_protect_bpf)
echo "detach_protect=$(rc bpftool link detach id $PROT)"
echo "map_update=$(rc bpftool map update pinned $PINS/maps/bg_state key 0 0 0 0 value 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0)"
echo "map_delete=$(rc bpftool map delete pinned $PINS/maps/bg_task_exe key 1 0 0 0)"
echo "map_lookup=$(rc bpftool map lookup pinned $PINS/maps/bg_state key 0 0 0 0)"
echo "rm_pin=$(rc rm -f $PINS/links/bg_lsm_bprm_check)"
echo "mv_pin=$(rc mv $PINS/links/bg_lsm_bprm_check /sys/fs/bpf/stolen)"
echo "rm_map_pin=$(rc rm -f $PINS/maps/bg_rules)"
echo "umount=$(rc umount /sys/fs/bpf)"
echo "alive=$(kill -0 $P 2>/dev/null && echo yes || echo no)"
echo "pin_there=$([ -e $PINS/links/bg_lsm_bprm_check ] && echo yes || echo no)"
echo "deny_after_attacks=$(intry)"

node ${CLI} unload > /tmp/unload.out 2>&1; echo "unload_rc=$?"
sed 's/^/unload_out=/' /tmp/unload.out
echo "alive_after_unload=$(kill -0 $P 2>/dev/null && echo yes || echo no)"
grep -q 'bpfgate unload requested: disarming self-protection' /tmp/p.log && echo request_logged=1
echo "pins_left=$([ -e $PINS ] && echo yes || echo no)"
echo "deny_after_unload=$(intry)"

# break glass: the file present at start, protection is not armed
mkdir -p /run/bpfgate; touch /run/bpfgate/break-glass
bpfgate_start /dev/null /tmp/q.log ${flags}; Q=$!
wait_enforcing /tmp/q.log $Q || exit 11
grep -q 'self-protection NOT armed: break glass' /tmp/q.log && echo glass_logged=1
echo "glass_deny=$(intry)"
echo "glass_kill9=$(rc kill -9 $Q)"
wait $Q 2>/dev/null
echo "glass_deny_after_kill=$(intry)"
rm -f /run/bpfgate/break-glass
node ${CLI} unload > /tmp/unload2.out 2>&1; echo "glass_unload_rc=$?"
echo "glass_deny_after_unload=$(intry)"
`;
  ({ values: r, raw } = await runExecBlockScenario(script, 'protect-vm-exec'));
});

const refused = (v: string | undefined) =>
  expect(v ?? '', raw).toMatch(/^[1-9]\d* .*(not permitted|must be superuser)/i);

describe('self-protection in the guest (Debian 6.1)', () => {
  it('enforces as usual', () => {
    expect(r.deny, raw).not.toBe('0');
  });

  it('another root process cannot kill, stop or ptrace the daemon (signal 0 still answers)', () => {
    refused(r.kill9);
    refused(r.kill_term);
    refused(r.kill_stop);
    expect(r.kill0).toMatch(/^0 /);
    expect(r.ptrace).toBe('1'); // EPERM
    expect(r.alive).toBe('yes');
  });

  it('another root process cannot detach links, write maps, remove pins or unmount bpffs; reads work', () => {
    refused(r.detach_link);
    refused(r.detach_protect);
    refused(r.map_update);
    refused(r.map_delete);
    expect(r.map_lookup).toMatch(/^0 /);
    refused(r.rm_pin);
    refused(r.mv_pin);
    refused(r.rm_map_pin);
    refused(r.umount);
    expect(r.pin_there).toBe('yes');
    expect(r.deny_after_attacks).not.toBe('0');
  });

  it('bpfgate unload works: the daemon logs the request, disarms, stops; everything is removed', () => {
    expect(r.unload_rc, raw).toBe('0');
    expect(raw).toMatch(/unload_out=stopped the daemon \(pid \d+\)/);
    expect(raw).toContain('unload_out=detached bg_lsm_bprm_check');
    expect(r.request_logged).toBe('1');
    expect(r.alive_after_unload).toBe('no');
    expect(r.pins_left).toBe('no');
    expect(r.deny_after_unload).toBe('0');
  });

  it('break glass: with the file present at start the daemon is not protected', () => {
    expect(r.glass_logged, raw).toBe('1');
    expect(r.glass_deny).not.toBe('0');
    expect(r.glass_kill9).toMatch(/^0 /);
    expect(r.glass_deny_after_kill).not.toBe('0'); // pins: enforcement outlives it
    expect(r.glass_unload_rc).toBe('0');
    expect(r.glass_deny_after_unload).toBe('0');
  });
});
