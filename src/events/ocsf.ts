// Native violation event -> OCSF 1.8.0 event, with the security_control
// profile (action, disposition, policy) and the host profile (device, actor).
// The class per kind, and why, is in docs/events.md. Pure.
import { basename } from 'node:path';
import type { Severity } from '../policy/model.ts';
import type { ViolationEvent } from './types.ts';

export const OCSF_VERSION = '1.8.0';
export const PRODUCT = { name: 'bpfgate', vendor_name: 'bpfgate', version: '0.1.0' } as const;

interface OcsfClass {
  category_uid: number;
  category_name: string;
  class_uid: number;
  class_name: string;
}

const SYSTEM = { category_uid: 1, category_name: 'System Activity' };
const NETWORK = { category_uid: 4, category_name: 'Network Activity' };
export const OCSF_CLASSES = {
  file: { ...SYSTEM, class_uid: 1001, class_name: 'File System Activity' },
  kernelExtension: { ...SYSTEM, class_uid: 1002, class_name: 'Kernel Extension Activity' },
  kernel: { ...SYSTEM, class_uid: 1003, class_name: 'Kernel Activity' },
  process: { ...SYSTEM, class_uid: 1007, class_name: 'Process Activity' },
  network: { ...NETWORK, class_uid: 4001, class_name: 'Network Activity' },
} as const satisfies Record<string, OcsfClass>;

const SEVERITY_ID: Record<Severity, [number, string]> = {
  info: [1, 'Informational'],
  low: [2, 'Low'],
  medium: [3, 'Medium'],
  high: [4, 'High'],
  critical: [5, 'Critical'],
};

type Json = Record<string, unknown>;

interface Mapped {
  cls: OcsfClass;
  activity: [number, string];
  fields: Json;
}

const fileObj = (path: string, typeId = 1): Json => ({
  name: basename(path) || path || '(unknown)',
  ...(path ? { path } : {}),
  type_id: typeId,
});

function processObj(e: ViolationEvent): Json {
  const p = e.process;
  return {
    pid: p.tgid,
    tid: p.pid,
    name: p.comm,
    ...(p.args && p.args.length > 0 ? { cmd_line: p.args.join(' ') } : {}),
    ...(p.executable ? { file: fileObj(p.executable) } : {}),
    user: userObj(p.uid, p.user),
    parent_process: {
      pid: e.parent.pid,
      ...(e.parent.executable
        ? { file: fileObj(e.parent.executable), name: basename(e.parent.executable) }
        : {}),
    },
    ...(p.container
      ? {
          container: {
            uid: p.container.id,
            ...(p.container.runtime ? { runtime: p.container.runtime } : {}),
          },
        }
      : {}),
  };
}

const userObj = (uid: number, name?: string): Json => ({ uid: String(uid), ...(name ? { name } : {}) });

const FILE_ACTIVITY: Record<string, [number, string]> = {
  read: [2, 'Read'],
  write: [3, 'Update'],
  create: [1, 'Create'],
  unlink: [4, 'Delete'],
  rename: [5, 'Rename'],
  chmod: [7, 'Set Security'],
  chown: [7, 'Set Security'],
  link: [1, 'Create'],
  truncate: [3, 'Update'],
};

const BPF_CREATE = new Set([
  'BPF_MAP_CREATE',
  'BPF_PROG_LOAD',
  'BPF_BTF_LOAD',
  'BPF_LINK_CREATE',
  'BPF_TOKEN_CREATE',
]);

function mapKind(e: ViolationEvent): Mapped {
  const t = e.target as Record<string, unknown>;
  switch (e.kind) {
    case 'exec':
      return {
        cls: OCSF_CLASSES.process,
        activity: [1, 'Launch'],
        fields: {
          process: { pid: e.process.tgid, name: basename(String(t.path)), file: fileObj(String(t.path)) },
        },
      };
    case 'ptrace':
      return {
        cls: OCSF_CLASSES.process,
        activity: [3, 'Open'],
        fields: {
          process: { pid: Number(t.pid) },
          requested_permissions: t.mode === 'attach' ? 0x02 : 0x01 /* PTRACE_MODE_ATTACH, PTRACE_MODE_READ */,
        },
      };
    case 'setuid':
      return {
        cls: OCSF_CLASSES.process,
        activity: [5, 'Set User ID'],
        fields: { process: { pid: e.process.tgid, name: e.process.comm, user: userObj(Number(t.newUid)) } },
      };
    case 'file': {
      return {
        cls: OCSF_CLASSES.file,
        activity: FILE_ACTIVITY[String(t.operation)] ?? [99, 'Other'],
        fields: { file: fileObj(String(t.path)) },
      };
    }
    case 'mount': {
      const op = String(t.operation);
      const activity: [number, string] =
        op === 'mount' ? [12, 'Mount'] : op === 'umount' ? [13, 'Unmount'] : [99, 'Pivot Root'];
      return { cls: OCSF_CLASSES.file, activity, fields: { file: fileObj(String(t.mountPoint), 2) } };
    }
    case 'sysctl':
      return {
        cls: OCSF_CLASSES.file,
        activity: t.operation === 'write' ? [3, 'Update'] : [2, 'Read'],
        fields: { file: fileObj(String(t.path)) },
      };
    case 'module': {
      const path = typeof t.path === 'string' ? t.path : '';
      return {
        cls: OCSF_CLASSES.kernelExtension,
        activity: [1, 'Load'],
        fields: { driver: { file: path ? fileObj(path) : { name: '(memory image)', type_id: 0 } } },
      };
    }
    case 'capability':
      return {
        cls: OCSF_CLASSES.kernel,
        activity: [4, 'Invoke'],
        fields: { kernel: { name: String(t.name), type_id: 99, type: 'Capability' } },
      };
    case 'bpf':
      return {
        cls: OCSF_CLASSES.kernel,
        activity: BPF_CREATE.has(String(t.command)) ? [1, 'Create'] : [4, 'Invoke'],
        fields: { kernel: { name: String(t.command), type_id: 2, type: 'System Call', system_call: 'bpf' } },
      };
    case 'device': {
      const access = t.access as string[];
      const activity: [number, string] = access.includes('mknod')
        ? [1, 'Create']
        : access.includes('write')
          ? [99, 'Write']
          : [2, 'Read'];
      return {
        cls: OCSF_CLASSES.kernel,
        activity,
        fields: { kernel: { name: `${t.type} ${t.major}:${t.minor}`, type_id: 99, type: 'Device' } },
      };
    }
    case 'kprobe':
      return {
        cls: OCSF_CLASSES.kernel,
        activity: [4, 'Invoke'],
        fields: { kernel: { name: String(t.function), type_id: 99, type: 'Kernel Function' } },
      };
    case 'socket':
      return {
        cls: OCSF_CLASSES.network,
        activity: [99, 'Socket Create'],
        fields: {
          src_endpoint: { hostname: e.host },
          connection_info: { direction_id: 0, direction: 'Unknown', protocol_num: Number(t.protocol) },
        },
      };
    case 'connect':
    case 'bind': {
      const ep = { ip: String(t.address), port: Number(t.port) };
      const proto = String(t.protocol);
      const conn: Json = {
        direction_id: e.kind === 'connect' ? 2 : 1,
        direction: e.kind === 'connect' ? 'Outbound' : 'Inbound',
        protocol_ver_id: t.family === 'ipv6' ? 6 : 4,
        ...(proto === 'tcp' ? { protocol_num: 6, protocol_name: 'tcp' } : {}),
        ...(proto === 'udp' ? { protocol_num: 17, protocol_name: 'udp' } : {}),
      };
      return e.kind === 'connect'
        ? {
            cls: OCSF_CLASSES.network,
            activity: [1, 'Open'],
            fields: { src_endpoint: { hostname: e.host }, dst_endpoint: ep, connection_info: conn },
          }
        : {
            cls: OCSF_CLASSES.network,
            activity: [7, 'Listen'],
            fields: { src_endpoint: { ...ep, hostname: e.host }, connection_info: conn },
          };
    }
  }
}

/** action_id, disposition_id and status of an outcome. */
function control(e: ViolationEvent): Json {
  switch (e.outcome) {
    case 'denied':
      return {
        action_id: 2,
        action: 'Denied',
        disposition_id: 2,
        disposition: 'Blocked',
        status_id: 2,
        status: 'Failure',
        status_detail: 'denied by bpfgate',
      };
    case 'killed':
      return {
        action_id: 2,
        action: 'Denied',
        disposition_id: 2,
        disposition: 'Blocked',
        status_id: 99,
        status: 'Killed',
        status_detail: 'the process was killed (SIGKILL) by bpfgate',
      };
    case 'allowed':
      return {
        action_id: 3,
        action: 'Observed',
        disposition_id: 17,
        disposition: 'Logged',
        status_id: 1,
        status: 'Success',
      };
    case 'would-block':
    case 'would-kill':
      return {
        action_id: 3,
        action: 'Observed',
        disposition_id: 15,
        disposition: 'Detected',
        status_id: 1,
        status: 'Success',
        status_detail: `audit mode: bpfgate ${e.outcome === 'would-kill' ? 'would have killed the process' : 'would have blocked this'}`,
      };
  }
}

const msOf = (ns: string): number => Number(BigInt(ns) / 1_000_000n);

export function toOcsf(e: ViolationEvent): Json {
  const m = mapKind(e);
  const [severityId, severity] = SEVERITY_ID[e.policy.severity];
  const profiles = ['security_control', 'host', ...(e.process.container ? ['container'] : [])];
  const out: Json = {
    category_uid: m.cls.category_uid,
    category_name: m.cls.category_name,
    class_uid: m.cls.class_uid,
    class_name: m.cls.class_name,
    activity_id: m.activity[0],
    activity_name: m.activity[1],
    type_uid: m.cls.class_uid * 100 + m.activity[0],
    type_name: `${m.cls.class_name}: ${m.activity[1]}`,
    severity_id: severityId,
    severity,
    time: msOf(e.timeNs),
    timezone_offset: 0,
    message: e.message,
    metadata: {
      version: OCSF_VERSION,
      product: { ...PRODUCT },
      profiles,
      uid: e.id,
      event_code: e.kind,
      log_name: 'bpfgate',
      original_time: e.time,
      ...(e.policy.tags.length > 0 ? { labels: [...e.policy.tags] } : {}),
    },
    device: { hostname: e.host, name: e.host, type_id: 0, os: { name: 'Linux', type_id: 200 } },
    actor: { process: processObj(e), user: userObj(e.process.uid, e.process.user) },
    ...control(e),
    is_alert: e.outcome !== 'allowed' || severityId >= 4,
    policy: {
      name: e.policy.name,
      uid: `${e.policy.name}/${e.policy.rule}`,
      desc: e.message,
      is_applied: e.mode === 'enforce',
    },
    ...m.fields,
    status_code: String(e.ret),
    unmapped: {
      bpfgate: {
        schemaVersion: e.schemaVersion,
        rule: e.policy.rule,
        action: e.action,
        outcome: e.outcome,
        mode: e.mode,
        mechanism: e.mechanism,
        kind: e.kind,
        target: e.target,
        cgroup: e.process.cgroup,
      },
    },
  };
  if (e.count !== undefined && e.firstTimeNs && e.lastTimeNs) {
    out.count = e.count;
    out.start_time = msOf(e.firstTimeNs);
    out.end_time = msOf(e.lastTimeNs);
  }
  return out;
}
