// The verifier's own words from libbpf's log of a failed program load: which
// program failed, and the last lines of its verifier log (what it rejected and
// the instructions that led there), bounded, so that `doctor` and a failed
// start can show an operator why. Pure.
import { BpfgateError } from '../errors.ts';

/** At most this many verifier lines are kept: the verdict and what led to it. */
export const VERIFIER_LINES_MAX = 8;
const LINE_MAX = 160;

const BEGIN = '-- BEGIN PROG LOAD LOG --';
const END = '-- END PROG LOAD LOG --';

/** The program libbpf names in a failed load ("prog 'bg_fmr_file_open': BPF program load failed"), or null. */
export function failedProgram(log: string): string | null {
  return /prog '([^']+)': (?:BPF program load failed|failed to load)/.exec(log)?.[1] ?? null;
}

function clip(line: string): string {
  return line.length > LINE_MAX ? `${line.slice(0, LINE_MAX - 3)}...` : line;
}

/**
 * The last `max` lines of the verifier log in libbpf's output: the rejection
 * and the instructions before it, without the statistics lines ("processed
 * N insns", "verification time"). Empty when there is no verifier log (a load
 * refused before verification, or not a load).
 */
export function verifierLines(log: string, max = VERIFIER_LINES_MAX): string[] {
  const begin = log.lastIndexOf(BEGIN);
  if (begin < 0) return [];
  const end = log.indexOf(END, begin);
  return log
    .slice(begin + BEGIN.length, end < 0 ? undefined : end)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('processed ') && !l.startsWith('verification time'))
    .slice(-max)
    .map(clip);
}

/** The kernel refused one of bpfgate's programs (a failed start): which one, and the verifier's words. */
export class ProgramRejectedError extends BpfgateError {
  readonly program: string;
  readonly verifier: string[];
  constructor(program: string, verifier: string[], options?: { cause?: unknown }) {
    const why = verifier.length > 0 ? `; the verifier's last lines:\n  ${verifier.join('\n  ')}` : '';
    super(
      'BPF_PROGRAM_REJECTED',
      `the kernel refused to load ${program}${why}\n(bpfgate doctor shows which hooks this kernel serves)`,
      options,
    );
    this.program = program;
    this.verifier = verifier;
  }
}
