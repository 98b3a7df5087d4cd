// Builds test/fixtures/bpf/test.bpf.o (with a vmlinux.h from this kernel's BTF)
// into .cache/test-bpf/, once per run.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const TEST_BPF_DIR = `${ROOT}.cache/test-bpf`;
export const TEST_BPF_OBJ = `${TEST_BPF_DIR}/test.bpf.o`;

export function buildTestObject(): string {
  execFileSync('sh', [`${ROOT}test/fixtures/bpf/build.sh`, TEST_BPF_DIR], { stdio: 'inherit' });
  return TEST_BPF_OBJ;
}
