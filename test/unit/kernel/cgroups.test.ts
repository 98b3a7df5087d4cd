import { describe, expect, it } from 'vitest';
import { findCgroup2Mount, resolveCgroupSelectors } from '../../../src/kernel/cgroups.ts';

const nodes = [
  { path: '/', id: 1n },
  { path: '/system.slice', id: 2n },
  { path: '/system.slice/nginx.service', id: 3n },
  { path: '/system.slice/sshd.service', id: 4n },
  { path: '/system.slice/nginx.service/worker', id: 5n },
  { path: '/user.slice', id: 6n },
];

describe('cgroup selectors', () => {
  it('selects exact paths', () => {
    expect(resolveCgroupSelectors(['/user.slice'], nodes)).toEqual({
      self: [6n],
      subtree: [],
      unmatched: [],
    });
  });
  it('matches one level with * and never crosses a slash', () => {
    expect(resolveCgroupSelectors(['/system.slice/*.service'], nodes)).toEqual({
      self: [3n, 4n],
      subtree: [],
      unmatched: [],
    });
  });
  it('turns a trailing /** into a subtree selector checked in the kernel', () => {
    expect(resolveCgroupSelectors(['/system.slice/**'], nodes)).toEqual({
      self: [],
      subtree: [2n],
      unmatched: [],
    });
    expect(resolveCgroupSelectors(['/system.slice/*.service/**'], nodes)).toEqual({
      self: [],
      subtree: [3n, 4n],
      unmatched: [],
    });
  });
  it('treats regex characters in names literally', () => {
    expect(resolveCgroupSelectors(['/system.slice/nginx+service'], nodes)).toEqual({
      self: [],
      subtree: [],
      unmatched: ['/system.slice/nginx+service'],
    });
  });
  it('names the selectors that select no cgroup that exists now, whatever the others select', () => {
    const sel = ['/user.slice', '/kubepods/*/pod*', '/system.slice/cron.service', '/machine.slice/**'];
    expect(resolveCgroupSelectors(sel, nodes)).toEqual({
      self: [6n],
      subtree: [],
      unmatched: ['/kubepods/*/pod*', '/system.slice/cron.service', '/machine.slice/**'],
    });
  });
});

describe('findCgroup2Mount', () => {
  it('finds the cgroup2 mount of a hybrid layout', () => {
    const mi = [
      '25 30 0:22 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs ro,mode=755',
      '26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:5 - cgroup2 cgroup2 rw',
      '27 25 0:24 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu',
    ].join('\n');
    expect(findCgroup2Mount(mi)).toBe('/sys/fs/cgroup/unified');
  });
  it('returns null without a cgroup2 mount', () => {
    expect(findCgroup2Mount('25 30 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs ro\n')).toBeNull();
  });
});
