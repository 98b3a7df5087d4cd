// Two network namespaces joined by a veth pair, for packet rules on this host:
// traffic flows only between them, never on the host's own interfaces.
//   a: <name>a0, 10.<n>.0.1/24 and fd00:<n>::1/64     b: <name>b0, 10.<n>.0.2/24 and fd00:<n>::2/64
// A small python program sends and receives UDP datagrams and TCP connections.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';

const PY = `
import os, select, socket, sys
mode, proto, fam, addr, port = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
af = socket.AF_INET6 if fam == "6" else socket.AF_INET
if mode == "recv":
    # counts until its stdin closes; what already arrived is counted first
    if proto == "udp":
        s = socket.socket(af, socket.SOCK_DGRAM); s.bind((addr, port))
    else:
        s = socket.socket(af, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((addr, port)); s.listen(64)
    print("ready", flush=True)
    n = 0
    while True:
        r, _, _ = select.select([s, 0], [], [])
        if s in r:
            if proto == "udp":
                s.recv(2048)
            else:
                c, _ = s.accept(); c.close()
            n += 1
        elif os.read(0, 1) == b"":
            break
    print(n, flush=True)
elif mode == "send":
    count = int(sys.argv[6])
    s = socket.socket(af, socket.SOCK_DGRAM)
    for i in range(count):
        try:
            s.sendto(b"x" * 32, (addr, port))
        except OSError:
            pass
    print("sent", flush=True)
else:
    s = socket.socket(af, socket.SOCK_STREAM); s.settimeout(float(sys.argv[6]))
    try:
        s.connect((addr, port)); print("connected")
    except OSError as e:
        print("failed", type(e).__name__)
`;

export interface Side {
  ns: string;
  dev: string;
  v4: string;
  v6: string;
}

/** A listening receiver: `stop()` closes it and resolves to what it received. */
export interface Receiver {
  stop(): Promise<number>;
}

export interface NetnsPair {
  a: Side;
  b: Side;
  /** the command prefix that runs a program in side x's namespace */
  enter(x: Side): string[];
  /** counts UDP datagrams or TCP connections on `port` until stopped (the returned promise waits for "ready") */
  receive(x: Side, proto: 'udp' | 'tcp', fam: 4 | 6, port: number): Promise<Receiver>;
  /** `count` UDP datagrams from x to `addr` */
  send(x: Side, fam: 4 | 6, addr: string, port: number, count: number): void;
  /** a TCP connect from x: 'connected' or 'failed <reason>' */
  connect(x: Side, fam: 4 | 6, addr: string, port: number, timeoutSecs: number): string;
  remove(): void;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** `name`: a few lowercase letters (interface names are at most 15 bytes); n: 1-254 (the address block). */
export function createNetnsPair(name: string, n: number): NetnsPair {
  const a: Side = { ns: `${name}-a`, dev: `${name}a0`, v4: `10.${n}.0.1`, v6: `fd00:${n}::1` };
  const b: Side = { ns: `${name}-b`, dev: `${name}b0`, v4: `10.${n}.0.2`, v6: `fd00:${n}::2` };
  const enter = (x: Side) => ['nsenter', `--net=/run/netns/${x.ns}`];
  const inNs = (x: Side, ...args: string[]) => ip('-n', x.ns, ...args);
  const removeAll = () => {
    for (const x of [a, b]) spawnSync('ip', ['netns', 'del', x.ns], { stdio: 'ignore' });
  };
  try {
    ip('netns', 'add', a.ns);
    ip('netns', 'add', b.ns);
    ip('link', 'add', a.dev, 'netns', a.ns, 'type', 'veth', 'peer', 'name', b.dev, 'netns', b.ns);
    for (const x of [a, b]) {
      inNs(x, 'addr', 'add', `${x.v4}/24`, 'dev', x.dev);
      inNs(x, '-6', 'addr', 'add', `${x.v6}/64`, 'dev', x.dev, 'nodad');
      inNs(x, 'link', 'set', x.dev, 'up');
      inNs(x, 'link', 'set', 'lo', 'up');
    }
  } catch (err) {
    // nothing left behind when the pair cannot be made
    removeAll();
    throw err;
  }
  const py = (x: Side, args: string[]) => [...enter(x), 'python3', '-c', PY, ...args];
  return {
    a,
    b,
    enter,
    receive(x, proto, fam, port) {
      const argv = py(x, ['recv', proto, String(fam), fam === 6 ? '::' : '0.0.0.0', String(port)]);
      const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      const closed = new Promise<number>((done) =>
        child.on('close', () => done(out.startsWith('ready\n') ? Number(out.split('\n')[1]) : Number.NaN)),
      );
      return new Promise((ready, fail) => {
        child.stdout!.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          if (out.startsWith('ready\n'))
            ready({
              stop: async () => {
                // what was sent has crossed the pair by now: let the receiver count it, then close
                await new Promise((r) => setTimeout(r, 200));
                child.stdin!.end();
                return closed;
              },
            });
        });
        child.on('error', fail);
        closed.then(() => fail(new Error(`receiver on ${x.ns} port ${port} exited: ${out.trim()}`)));
      });
    },
    send(x, fam, addr, port, count) {
      const argv = py(x, ['send', 'udp', String(fam), addr, String(port), String(count)]);
      spawnSync(argv[0]!, argv.slice(1), { stdio: 'ignore' });
    },
    connect(x, fam, addr, port, timeoutSecs) {
      const argv = py(x, ['connect', 'tcp', String(fam), addr, String(port), String(timeoutSecs)]);
      return spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' }).stdout.trim();
    },
    remove: removeAll,
  };
}
