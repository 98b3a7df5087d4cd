// A file an inode hook (inode_setxattr, inode_removexattr) is given on a file
// system other than the root's has no name the programs can build: only a rule
// on the directory "/" decides it by name (BG_PATH_FOREIGN_KEY), every other
// rule by the file's identity. Before, every block rule naming xattr or setcap
// refused such changes on every other file system (the unresolved key).
import { describe, expect, it } from 'vitest';
import { PATH_FOREIGN_TARGET, PATH_UNRESOLVED_TARGET } from '../../../src/abi/layout.ts';
import { kindOf } from '../../../src/kinds/index.ts';
import { parsePolicySources } from '../../../src/policy/index.ts';

const file = kindOf('file');
const hex = (s: string) => Buffer.from(s).toString('hex');

function keysOf(match: string) {
  const { set, diagnostics } = parsePolicySources([
    {
      file: 'p.yaml',
      text: `apiVersion: bpfgate.dev/v1
kind: Policy
metadata: { name: p }
spec:
  rules:
    - { id: r, kind: file, action: block, match: ${match} }
`,
    },
  ]);
  expect(diagnostics).toEqual([]);
  const keys = file.unresolvedKeys!(set!.policies[0]!.rules[0]!.match, { gen: 0, slot: 0, ruleId: 1 });
  const count = (target: string) => keys.filter((k) => k.key.includes(`${hex(target)}00`)).length;
  return { unresolved: count(PATH_UNRESOLVED_TARGET), foreign: count(PATH_FOREIGN_TARGET) };
}

describe('files on another file system than the root, given without their mount', () => {
  it('a rule on the directory / decides them by name, one key per operation', () => {
    expect(PATH_FOREIGN_TARGET).toBe('\x03');
    expect(keysOf('{ directories: [/], operations: [setid, setcap] }')).toEqual({
      unresolved: 2,
      foreign: 2,
    });
  });

  it('a rule on any other path does not: the file is decided by its identity', () => {
    expect(keysOf('{ directories: [/etc/ssh/], operations: [xattr] }')).toEqual({
      unresolved: 1,
      foreign: 0,
    });
    expect(keysOf('{ paths: [/etc/shadow], directories: [/root/], operations: [xattr, setcap] }')).toEqual({
      unresolved: 2,
      foreign: 0,
    });
  });
});
