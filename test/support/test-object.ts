// test/fixtures/bpf/test.bpf.o (the binding's host tests), built into
// .cache/test-bpf/ with a vmlinux.h from this kernel's BTF.
import { compileBpf } from './build.ts';
import { CACHE, FIXTURES } from './paths.ts';

export const TEST_BPF_DIR = `${CACHE}/test-bpf`;
export const TEST_BPF_OBJ = `${TEST_BPF_DIR}/test.bpf.o`;

export function buildTestObject(): string {
  return compileBpf(`${FIXTURES}/bpf/test.bpf.c`, TEST_BPF_OBJ);
}
