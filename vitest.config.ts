import { defineConfig } from 'vitest/config';

// Test projects:
//   unit   pure code, no privileges, no kernel, no network
//   host   this machine's kernel: cgroup and tracepoint programs, scoped to test cgroups (root)
//   nats   a real nats-server started by the tests on a free loopback port
//   package the Debian package and the container image, built and installed for real (dockerd)
//   ecosystem the tools users run bpfgate among, each a real program: a NATS cluster in containers
//          (testcontainers; scripts/engine.sh starts the engine), Prometheus, headless Chromium (root)
//   kernel Debian's kernel under QEMU: BPF-LSM and kprobes (npm run test:kernel)
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 20_000 } },
      {
        test: {
          name: 'host',
          include: ['test/host/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'nats',
          include: ['test/nats/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'package',
          include: ['test/package/**/*.test.ts'],
          globalSetup: ['test/package/setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'ecosystem',
          include: ['test/ecosystem/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'kernel',
          include: ['test/vm/**/*.test.ts'],
          testTimeout: 900_000,
          hookTimeout: 1_300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
