// The verifier's own words from libbpf's log of a failed load (doctor, a failed start).
import { describe, expect, it } from 'vitest';
import { failedProgram, VERIFIER_LINES_MAX, verifierLines } from '../../../src/kernel/verifier.ts';

const LOG = `libbpf: prog 'bg_fmr_path_link': BPF program load failed: Permission denied
libbpf: prog 'bg_fmr_path_link': -- BEGIN PROG LOAD LOG --
reg type unsupported for arg#0 function bg_fmr_path_link#42
0: R1=ctx(off=0,imm=0) R10=fp0
${Array.from({ length: 12 }, (_, i) => `${i + 1}: (79) r${i % 9} = *(u64 *)(r1 +${8 * i})`).join('\n')}
R2 invalid mem access 'scalar'
processed 14 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 1
verification time 77 usec
-- END PROG LOAD LOG --
libbpf: prog 'bg_fmr_path_link': failed to load: -13
libbpf: failed to load object 'bpfgate.bpf.o'
`;

describe('verifier lines', () => {
  it('the program that failed, and the last lines of its log without the statistics', () => {
    expect(failedProgram(LOG)).toBe('bg_fmr_path_link');
    const lines = verifierLines(LOG);
    expect(lines).toHaveLength(VERIFIER_LINES_MAX);
    expect(lines.at(-1)).toBe("R2 invalid mem access 'scalar'");
    expect(lines.at(-2)).toBe('12: (79) r2 = *(u64 *)(r1 +88)');
    expect(lines.join('\n')).not.toMatch(/processed|verification time/);
    expect(verifierLines(LOG, 2)).toEqual([
      '12: (79) r2 = *(u64 *)(r1 +88)',
      "R2 invalid mem access 'scalar'",
    ]);
  });
  it('no verifier log (refused before verification, or not a load): nothing', () => {
    expect(verifierLines('libbpf: prog x: BPF program load failed: Operation not permitted')).toEqual([]);
    expect(failedProgram('libbpf: map x: failed to create')).toBeNull();
  });
  it('long lines are cut', () => {
    const log = `-- BEGIN PROG LOAD LOG --\n${'x'.repeat(400)}\n-- END PROG LOAD LOG --`;
    expect(verifierLines(log)[0]).toHaveLength(160);
  });
});
