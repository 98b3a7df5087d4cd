// Near misses get the name the user meant: kinds (a swapped pair of letters),
// capabilities written without an underscore, host names where an address
// belongs.
import { describe, expect, it } from 'vitest';
import { parsePolicySources } from '../../../src/policy/index.ts';

const rule = (r: string) =>
  `apiVersion: bpfgate.dev/v1\nkind: Policy\nmetadata: { name: p }\nspec:\n  rules:\n    - ${r}\n`;

function messages(r: string): string[] {
  const { diagnostics } = parsePolicySources([{ file: 'p.yaml', text: rule(r) }]);
  return diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.message} [${d.code}]`);
}

describe('suggestions for near misses', () => {
  it('a kind with two letters swapped', () => {
    expect(messages('{ id: a, kind: fiel, action: block, match: { paths: [/x] } }')).toEqual([
      expect.stringMatching(/'fiel' is not one of .* \(did you mean 'file'\?\) \[INVALID_VALUE\]$/),
    ]);
  });

  it('capabilities missing an underscore or the CAP_ prefix', () => {
    expect(
      messages(
        '{ id: a, kind: capability, action: block, match: { capabilities: [CAP_SYSADMIN, net_admn] } }',
      ),
    ).toEqual([
      "spec.rules[0].match.capabilities[0]: unknown capability 'CAP_SYSADMIN' (write it as 'CAP_SYS_ADMIN') [UNKNOWN_CAPABILITY]",
      "spec.rules[0].match.capabilities[1]: unknown capability 'net_admn' (write it as 'CAP_NET_ADMIN') [UNKNOWN_CAPABILITY]",
    ]);
  });

  it('bpf commands with a typo', () => {
    expect(messages('{ id: a, kind: bpf, action: block, match: { commands: [BPF_PROG_LAOD] } }')).toEqual([
      expect.stringContaining("(write it as 'BPF_PROG_LOAD')"),
    ]);
  });

  it('a host name where an address belongs is not given a nonsense prefix length', () => {
    const [m] = messages('{ id: a, kind: connect, action: block, match: { addresses: [example.com] } }');
    expect(m).toMatch(/'example\.com' is not an IP address: rules match addresses, not names/);
    expect(m).not.toContain('example.com/128');
    expect(messages('{ id: a, kind: connect, action: block, match: { addresses: [10.0.0.1] } }')).toEqual([
      "'10.0.0.1' has no prefix length (write 10.0.0.1/32) [INVALID_CIDR]",
    ]);
  });
});
