// The self-protection scenario in the guest (test/vm/protect.test.ts on the
// BPF-LSM boot, test/vm/protect-fmod-ret.test.ts on the boot without bpf in
// lsm=, where the same checks are fmod_ret programs on the security_*
// functions): with protect on, another root process can neither kill, stop
// nor ptrace the daemon, nor detach its links, write its maps, remove its pins
// or unmount bpffs; nor stop it quietly without a signal of its own:
// cgroup.kill or cgroup.freeze of its cgroup (or its parent's), moving it to a
// sibling cgroup, prlimit (SIGXCPU), renice or SCHED_IDLE, F_SETOWN/F_SETSIG
// SIGKILL toward it (by pid, or by a thread id and delivered through SIGIO),
// writing its oom_score_adj (set to -1000), process_vm_writev or
// /proc/<pid>/mem; each refusal is logged and published as a tamper event, by
// kind. The start-up log and /status name the rung. bpfgate unload still works
// (through a request the daemon logs with the requester's pid from the
// kernel), and so does the break-glass file.
import { beforeAll, describe, expect, it } from 'vitest';
import { GUEST_CGROUP2_ROOT, LSM_WITHOUT_BPF } from './guest.ts';
import { EXEC_BLOCK_POLICY_FILE, execBlockShell, runExecBlockScenario } from './guest-scenario.ts';
import { BPFGATE as CLI } from './paths.ts';

// ptrace(PTRACE_ATTACH) from another process: 0 or the errno
const PTRACE_PY = `
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
r = libc.ptrace(16, int(sys.argv[1]), None, None)
print(0 if r == 0 else ctypes.get_errno())
if r == 0:
    libc.ptrace(17, int(sys.argv[1]), None, None)
`;

// attacks that need a system call's errno: `python3 att.py WHAT PID [ARG]` prints 0 or the errno
const ATTACK_PY = `
import ctypes, fcntl, os, resource, signal, struct, sys, time
what, pid = sys.argv[1], int(sys.argv[2])
arg = sys.argv[3] if len(sys.argv) > 3 else ''
libc = ctypes.CDLL(None, use_errno=True)
def run(f):
    try:
        f()
        print(0)
    except OSError as e:
        print(e.errno)
def write(path, data):
    def f():
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, data.encode())
        finally:
            os.close(fd)
    run(f)
if what == 'write':
    write(arg, sys.argv[4])
elif what == 'rlimit':
    run(lambda: resource.prlimit(pid, getattr(resource, arg), (1, 1)))
elif what == 'rlimit_read':
    run(lambda: resource.prlimit(pid, resource.RLIMIT_CPU))
elif what == 'nice':
    run(lambda: os.setpriority(os.PRIO_PROCESS, pid, 19))
elif what == 'idle':
    run(lambda: os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0)))
elif what == 'setown':
    r, w = os.pipe()
    run(lambda: fcntl.fcntl(r, fcntl.F_SETOWN, pid))
elif what == 'sigio_tid':
    # F_SETOWN_EX to a thread of the daemon (not its pid), F_SETSIG SIGKILL, O_ASYNC, then I/O
    r, w = os.pipe()
    def f():
        fcntl.fcntl(r, 15, struct.pack('ii', 0, int(arg)))
        fcntl.fcntl(r, 10, signal.SIGKILL)
        fcntl.fcntl(r, fcntl.F_SETFL, os.O_ASYNC | os.O_NONBLOCK)
        os.write(w, b'x')
        time.sleep(0.5)
    run(f)
elif what == 'vm_writev':
    buf = ctypes.create_string_buffer(8)
    iov = struct.pack('QQ', ctypes.addressof(buf), 8)
    liov = ctypes.create_string_buffer(iov)
    riov = ctypes.create_string_buffer(struct.pack('QQ', 0x400000, 8))
    n = libc.process_vm_writev(pid, liov, 1, riov, 1, 0)
    print(0 if n >= 0 else ctypes.get_errno())
elif what == 'mem':
    run(lambda: os.close(os.open('/proc/%d/mem' % pid, os.O_RDWR)))
`;

// the JSON records of a log or event file (sys.argv[1]), other lines left out
const RECORDS_PY = `
import json, sys
def records():
    for line in open(sys.argv[1]):
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict):
            yield rec
`;

// the refusals the daemon logged (refused) or published (tamper events), summed by kind: kind:count,...
const REFUSED_PY = `${RECORDS_PY}
n = {}
for rec in records():
    for k, v in (rec.get('refused') or (rec.get('tamper') or {}).get('refused') or {}).items():
        n[k] = n.get(k, 0) + v
print(','.join('%s:%d' % kv for kv in sorted(n.items())))
`;

// the pid the daemon logged for the unload request
const REQUEST_PID_PY = `${RECORDS_PY}
for rec in records():
    if 'request' in rec:
        print(rec['request'].get('pid'), rec['request'].get('claimed', {}).get('pid'))
`;

// the rung the start-up log named when self-protection was armed, and how many programs
const ARMED_PY = `${RECORDS_PY}
for rec in records():
    if str(rec.get('msg', '')).startswith('self-protection armed'):
        print(rec.get('rung'), len(rec.get('programs') or []), rec.get('msg'))
`;

// /status's protection: rung, programs armed, checks not armed, armed
const STATUS_PY = `
import json, sys, urllib.request
s = json.load(urllib.request.urlopen('http://127.0.0.1:%s/status' % sys.argv[1], timeout=10)).get('protection') or {}
print(s.get('rung'), len(s.get('programs') or []), len(s.get('unarmed') or []), s.get('armed'))
`;

const py = (src: string) => src.replaceAll("'", "'\\''");

/** The whole guest run: on a loaded machine without KVM the daemon alone has taken 7 minutes to start under TCG. */
const GUEST_TIMEOUT_MS = 1_200_000;

/**
 * Break glass: the file present at start, protection is not armed. Decided
 * before any program is chosen, so the same on every rung: run on the BPF-LSM
 * boot only (a second daemon start costs minutes under TCG).
 */
function breakGlassShell(flags: string): string {
  return `
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
}

/** A boot of the guest kernel: BPF-LSM active (lsm=...,bpf), or built but not active (the fmod_ret rung). */
export type ProtectBoot = 'lsm' | 'fmod_ret';

/**
 * The self-protection scenario on one boot of Debian's 6.1 kernel under QEMU:
 * the same attacks and unload flow on either rung; break glass on the BPF-LSM
 * boot (it is decided before a rung is chosen).
 */
export function protectSuite(boot: ProtectBoot): void {
  // the pinned link of the exec rule, and the program of the bpf check, on this boot's rung
  const bprmPin = boot === 'lsm' ? 'bg_lsm_bprm_check' : 'bg_fmr_bprm_check';
  const protectBpf = boot === 'lsm' ? 'bg_protect_bpf' : 'bg_protect_fmr_bpf';
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
ids = {p["id"] for p in json.load(open("/tmp/progs.json")) if p.get("name", "") in (sys.argv[1], sys.argv[1][:15])}
print(next(l["id"] for l in json.load(open("/tmp/links.json")) if l["prog_id"] in ids))' "$1"
}

printf '%s' '${py(ATTACK_PY)}' > /tmp/att.py
att() { python3 /tmp/att.py "$@" 2>/dev/null || echo py-failed; }
# the daemon in a cgroup of its own below a parent, as under a service manager
SVC=${GUEST_CGROUP2_ROOT}/bgsvc
mkdir -p $SVC/bgd $SVC/other
echo $$ > $SVC/bgd/cgroup.procs
bpfgate_start /tmp/p.out /tmp/p.log ${flags.replace('--no-stdout ', '')} --metrics 9464; P=$!
echo $$ > ${GUEST_CGROUP2_ROOT}/cgroup.procs
wait_log /tmp/p.log 'self-protection armed' $P || exit 10
wait_log /tmp/p.log '/metrics /healthz /status' $P || exit 12
echo "deny=$(intry)"
echo "armed=$(python3 -c '${py(ARMED_PY)}' /tmp/p.log)"
echo "not_armed=$(grep -c 'self-protection NOT armed' /tmp/p.log)"
echo "uptime_armed=$(cut -d' ' -f1 /proc/uptime)" >&2
echo "status=$(timeout 120 python3 -c '${py(STATUS_PY)}' 9464 2>&1 | tail -1)"
echo "uptime_status=$(cut -d' ' -f1 /proc/uptime)" >&2
echo "daemon_cgroup=$(cat /proc/$P/cgroup)"

echo "kill9=$(rc kill -9 $P)"
echo "kill_term=$(rc kill -TERM $P)"
echo "kill_stop=$(rc kill -STOP $P)"
echo "kill0=$(rc kill -0 $P)"
echo "ptrace=$(python3 -c '${PTRACE_PY.replaceAll("'", "'\\''")}' $P)"
BPRM=$(link_id $PINS/links/${bprmPin})
echo "detach_link=$(rc bpftool link detach id $BPRM)"
PROT=$(prog_link_id ${protectBpf})
echo "detach_protect=$(rc bpftool link detach id $PROT)"
echo "map_update=$(rc bpftool map update pinned $PINS/maps/bg_state key 0 0 0 0 value 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0)"
echo "map_delete=$(rc bpftool map delete pinned $PINS/maps/bg_task_exe key 1 0 0 0)"
echo "map_lookup=$(rc bpftool map lookup pinned $PINS/maps/bg_state key 0 0 0 0)"
echo "rm_pin=$(rc rm -f $PINS/links/${bprmPin})"
echo "mv_pin=$(rc mv $PINS/links/${bprmPin} /sys/fs/bpf/stolen)"
echo "rm_map_pin=$(rc rm -f $PINS/maps/bg_rules)"
echo "umount=$(rc umount /sys/fs/bpf)"
TID=$(ls /proc/$P/task | grep -vx $P | head -1)
echo "cg_kill=$(att write $P $SVC/bgd/cgroup.kill 1)"
echo "cg_kill_parent=$(att write $P $SVC/cgroup.kill 1)"
echo "cg_freeze=$(att write $P $SVC/bgd/cgroup.freeze 1)"
echo "cg_move=$(att write $P $SVC/other/cgroup.procs $P)"
echo "cg_mkdir=$(rc mkdir $SVC/bgd/sub)"
echo "cg_other_kill=$(att write $P $SVC/other/cgroup.kill 1)"
echo "rlimit_cpu=$(att rlimit $P RLIMIT_CPU)"
echo "rlimit_nofile=$(att rlimit $P RLIMIT_NOFILE)"
echo "rlimit_read=$(att rlimit_read $P)"
echo "nice=$(att nice $P)"
echo "idle=$(att idle $P)"
echo "setown=$(att setown $P)"
echo "sigio_tid=$(att sigio_tid $P $TID)"
echo "oom_value=$(cat /proc/$P/oom_score_adj)"
echo "oom_write=$(att write $P /proc/$P/oom_score_adj 0)"
echo "oom_thread=$(att write $P /proc/$P/task/$TID/oom_score_adj 1000)"
echo "oom_adj=$(att write $P /proc/$P/oom_adj 15)"
echo "vm_writev=$(att vm_writev $P)"
echo "mem=$(att mem $P)"
sleep 1
echo "refused=$(python3 -c '${py(REFUSED_PY)}' /tmp/p.log)"
echo "tamper=$(python3 -c '${py(REFUSED_PY)}' /tmp/p.out)"
echo "alive=$(kill -0 $P 2>/dev/null && echo yes || echo no)"
echo "pin_there=$([ -e $PINS/links/${bprmPin} ] && echo yes || echo no)"
echo "deny_after_attacks=$(intry)"

node ${CLI} unload > /tmp/unload.out 2>&1 & U=$!
wait $U; echo "unload_rc=$?"
echo "unload_pid=$U"
echo "request_pid=$(python3 -c '${py(REQUEST_PID_PY)}' /tmp/p.log)"
sed 's/^/unload_out=/' /tmp/unload.out
echo "alive_after_unload=$(kill -0 $P 2>/dev/null && echo yes || echo no)"
grep -q 'bpfgate unload requested: disarming self-protection' /tmp/p.log && echo request_logged=1
echo "pins_left=$([ -e $PINS ] && echo yes || echo no)"
echo "deny_after_unload=$(intry)"
${boot === 'lsm' ? breakGlassShell(flags) : ''}`;
    ({ values: r, raw } = await runExecBlockScenario(
      script,
      'protect-vm-exec',
      boot === 'fmod_ret' ? LSM_WITHOUT_BPF : undefined,
      GUEST_TIMEOUT_MS,
    ));
  }, GUEST_TIMEOUT_MS + 60_000);

  const refused = (v: string | undefined) =>
    expect(v ?? '', raw).toMatch(/^[1-9]\d* .*(not permitted|must be superuser)/i);

  const kernel = boot === 'lsm' ? 'BPF-LSM active' : 'BPF-LSM built but not active: fmod_ret';
  describe(`self-protection in the guest (Debian 6.1, ${kernel})`, () => {
    it('enforces as usual', () => {
      expect(r.deny, raw).not.toBe('0');
    });

    it('the start-up log and /status name the rung that protects; every check is armed', () => {
      const rung =
        boot === 'lsm' ? 'BPF-LSM' : 'fmod_ret on the security_\\* functions: BPF-LSM is not active';
      expect(r.armed, raw).toMatch(new RegExp(`^${boot} 15 self-protection armed \\(${rung}\\)$`));
      expect(r.not_armed).toBe('0');
      expect(r.status).toBe(`${boot} 15 0 True`);
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

    it('the quiet ways to stop it are refused: its cgroup, rlimits, scheduling, SIGIO, oom_score_adj, memory', () => {
      expect(r.daemon_cgroup, raw).toBe('0::/bgsvc/bgd');
      const EPERM = '1';
      expect(r.cg_kill, raw).toBe(EPERM);
      expect(r.cg_kill_parent).toBe(EPERM);
      expect(r.cg_freeze).toBe(EPERM);
      expect(r.cg_move).toBe(EPERM); // the common ancestor's cgroup.procs
      refused(r.cg_mkdir);
      expect(r.cg_other_kill).toBe('0'); // an empty sibling cgroup stays the admin's
      expect(r.rlimit_cpu).toBe(EPERM);
      expect(r.rlimit_nofile).toBe(EPERM);
      expect(r.rlimit_read).toBe('0');
      expect(r.nice).toBe(EPERM);
      expect(r.idle).toBe(EPERM);
      expect(r.setown).toBe(EPERM);
      expect(r.sigio_tid).toBe('0'); // set up, the signal never delivered
      expect(r.oom_value).toBe('-1000');
      expect(r.oom_write).toBe(EPERM);
      expect(r.oom_thread).toBe(EPERM);
      expect(r.oom_adj).toBe(EPERM);
      expect(r.vm_writev).toBe(EPERM);
      expect(r.mem).toBe('13'); // EACCES: /proc/<pid>/mem turns the refused ptrace check into EACCES
      expect(r.alive).toBe('yes');
      expect(r.deny_after_attacks).not.toBe('0');
    });

    it('each refusal is logged and published (a tamper event) by kind', () => {
      expect(r.tamper, raw).toBe(r.refused);
      const n = Object.fromEntries((r.refused ?? '').split(',').map((kv) => kv.split(':')));
      expect(Number(n.cgroup), raw).toBeGreaterThanOrEqual(5);
      expect(Number(n.rlimit)).toBe(2);
      expect(Number(n.sched)).toBeGreaterThanOrEqual(2);
      expect(Number(n.sigio)).toBeGreaterThanOrEqual(2);
      expect(Number(n.oom)).toBe(3);
      expect(Number(n.ptrace)).toBeGreaterThanOrEqual(3);
      expect(Number(n.signal)).toBe(3);
    });

    it('bpfgate unload works: the daemon logs the request, disarms, stops; everything is removed', () => {
      // the pid the daemon logged is the unload command's, found by the kernel's file table
      expect(r.request_pid, raw).toBe(`${r.unload_pid} ${r.unload_pid}`);
      expect(r.unload_rc, raw).toBe('0');
      expect(raw).toMatch(/unload_out=stopped the daemon \(pid \d+\)/);
      expect(raw).toContain(`unload_out=detached ${bprmPin}`);
      expect(r.request_logged).toBe('1');
      expect(r.alive_after_unload).toBe('no');
      expect(r.pins_left).toBe('no');
      expect(r.deny_after_unload).toBe('0');
    });

    // break glass is decided before a rung is chosen: tested on the BPF-LSM boot (breakGlassShell)
    if (boot === 'lsm')
      it('break glass: with the file present at start the daemon is not protected', () => {
        expect(r.glass_logged, raw).toBe('1');
        expect(r.glass_deny).not.toBe('0');
        expect(r.glass_kill9).toMatch(/^0 /);
        expect(r.glass_deny_after_kill).not.toBe('0'); // pins: enforcement outlives it
        expect(r.glass_unload_rc).toBe('0');
        expect(r.glass_deny_after_unload).toBe('0');
      });
  });
}
