// validate's file-level guards: a size cap checked before reading, binary
// files refused, nothing of a file that is not a policy echoed back (a
// password database must not leak a hash), progress on a large set.
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { progressLine, run } from '../../../src/cli/commands/validate.ts';
import { excerpt, MAX_POLICY_FILE_BYTES, MAX_SYNTAX_ERRORS } from '../../../src/policy/guard.ts';
import { loadPolicyFiles, parsePolicySources, readPolicyFile } from '../../../src/policy/index.ts';
import { captureOutput } from '../../support/capture.ts';

const io = captureOutput();
const dir = mkdtempSync(join(tmpdir(), 'bpfgate-guard-'));
const HASH = '$y$j9T$Ws8dJ3pQ1aZ0xVb$5nMRt0KxPq7Uy1cW9eLhTgH2iD4oFjS6vB8mN3aQ0k';

describe('validate never echoes what it did not understand', () => {
  it('a shadow file: no hash, no user names, one located error per document', async () => {
    const file = join(dir, 'shadow');
    writeFileSync(file, `root:${HASH}:20228:0:99999:7:::\nalice:${HASH}:20228:0:99999:7:::\n`);
    expect(await run([file])).toBe(1);
    expect(io.err).not.toContain('j9T');
    expect(io.err).not.toContain('alice');
    expect(io.err).toContain('[NOT_A_POLICY]');
    expect(io.err.split('\n').length).toBeLessThan(5);
  });

  it('a binary file: one line, none of its bytes', async () => {
    const file = join(dir, 'binary.yaml');
    const bytes = Buffer.alloc(20_000, 'A: "x"\n');
    bytes[100] = 0;
    writeFileSync(file, bytes);
    expect(await run([file])).toBe(1);
    expect(io.err).toMatch(/binary\.yaml:1:1: a binary file, not YAML text .*\[NOT_TEXT\]/);
    expect(io.err.length).toBeLessThan(300);
  });

  it('YAML syntax errors do not quote the text and stop after a few', () => {
    const text = Array.from({ length: 50 }, (_, i) => `key${i}: "unterminated SECRET${i}\n  : : x`).join(
      '\n',
    );
    const { diagnostics } = parsePolicySources([{ file: 'bad.yaml', text }]);
    const syntax = diagnostics.filter((d) => d.code === 'YAML_SYNTAX');
    expect(syntax.length).toBeLessThanOrEqual(MAX_SYNTAX_ERRORS + 1);
    expect(syntax.map((d) => d.message).join('\n')).not.toContain('SECRET');
  });

  it('an unknown key of a policy is quoted short and escaped', () => {
    const key = `x\x1b[31m${'k'.repeat(200)}`;
    const text = `apiVersion: bpfgate.dev/v1\nkind: Policy\n"${key.replace('\x1b', '\\e')}": 1\n`;
    const { diagnostics } = parsePolicySources([{ file: 'p.yaml', text }]);
    const unknown = diagnostics.find((d) => d.code === 'UNKNOWN_KEY')!;
    expect(unknown.message).toContain("unknown key 'x\\x1b[31mkkkk");
    expect(unknown.message).not.toContain('\x1b');
    expect(unknown.message).not.toContain('k'.repeat(40));
    expect(excerpt('a'.repeat(100))).toBe(`'${'a'.repeat(32)}…'`);
  });
});

describe('validate caps the size before reading', () => {
  it('a 76 MB file is refused at once, unread', async () => {
    const file = join(dir, 'huge.yaml');
    writeFileSync(file, '');
    truncateSync(file, 76 * 1024 * 1024); // sparse: refused by its size, never read
    const { set, diagnostics } = await loadPolicyFiles([file]);
    expect(set).toBeNull();
    expect(diagnostics.map((d) => d.code)).toEqual(['FILE_TOO_LARGE']);
    expect(diagnostics[0]!.message).toContain(String(MAX_POLICY_FILE_BYTES));
  });
});

describe('validate shows progress on a large set', () => {
  it('reports each file to the progress callback', async () => {
    const sub = mkdtempSync(join(dir, 'set-'));
    for (let i = 0; i < 5; i++) writeFileSync(join(sub, `p${i}.yaml`), `# empty ${i}\n`);
    const seen: number[][] = [];
    await loadPolicyFiles([sub], (done, total) => seen.push([done, total]));
    expect(seen).toEqual([1, 2, 3, 4, 5].map((d) => [d, 5]));
  });

  it('prints at most once a second, only for a large set, and a final line', () => {
    let now = 0;
    const lines: string[] = [];
    const p = progressLine(
      () => now,
      (s) => lines.push(s),
      false,
    );
    for (let i = 1; i <= 1000; i++) {
      now += 5; // 5 ms per file: 5 s in all
      p(i, 1000, i * 1024);
    }
    expect(lines.length).toBeGreaterThanOrEqual(5);
    expect(lines.length).toBeLessThanOrEqual(6);
    expect(lines.at(-1)).toBe('validating: 1000 of 1000 files read (1.0 MiB)\n');
    const small: string[] = [];
    const q = progressLine(
      () => (now += 5000),
      (s) => small.push(s),
      false,
    );
    for (let i = 1; i <= 10; i++) q(i, 10, 100);
    expect(small).toEqual([]);
  });
});

describe('a policy file is read to its end, whatever size it reported', () => {
  it('a /proc file (size 0 by stat) is read whole', async () => {
    const r = await readPolicyFile('/proc/version');
    expect('text' in r && r.text).toBe(readFileSync('/proc/version', 'utf8'));
  });

  it('one that turns out larger than the cap while it is read is refused (size 0 by stat)', async () => {
    expect(readFileSync('/proc/kallsyms').length).toBeGreaterThan(MAX_POLICY_FILE_BYTES);
    const r = await readPolicyFile('/proc/kallsyms');
    expect('code' in r && r.code).toBe('FILE_TOO_LARGE');
  });
});
