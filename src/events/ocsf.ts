// Native violation event -> OCSF 1.8.0 event, with the security_control
// profile (action, disposition, policy) and the host profile (device, actor).
// The class, activity and fields per kind are the kind's (src/kinds/); why
// each kind has its class is in docs/events.md. Pure.
import { basename } from 'node:path';
import { kindOf } from '../kinds/index.ts';
import { fileObj, userObj } from '../kinds/ocsf.ts';
import { SEVERITIES, type Severity } from '../policy/vocabulary.ts';
import type { ViolationEvent } from './types.ts';

export { OCSF_CLASSES } from '../kinds/ocsf.ts';

export const OCSF_VERSION = '1.8.0';
export const PRODUCT = { name: 'bpfgate', vendor_name: 'bpfgate', version: '0.1.0' } as const;

/** OCSF severity names; severity_id is the index in SEVERITIES plus one (1 Informational .. 5 Critical). */
const SEVERITY_NAME: Record<Severity, string> = {
  info: 'Informational',
  low: 'Low',
  medium: 'Medium',
  high: 'High',
  critical: 'Critical',
};

type Json = Record<string, unknown>;

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

const WOULD = {
  'would-block': 'would have blocked this',
  'would-kill': 'would have killed the process',
  'would-kill-after': 'would have killed the process after the call completed',
} as const;

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
        status_detail:
          e.mechanism === 'uprobe'
            ? 'the process was killed (SIGKILL) by bpfgate after the function was entered; the call was not blocked'
            : 'the process was killed (SIGKILL) by bpfgate before the action took effect',
      };
    case 'killed-after':
      // not blocked: the call ran to completion (bpfgate did not see its result), then the process was killed
      return {
        action_id: 99,
        action: 'Killed After',
        disposition_id: 99,
        disposition: 'Killed After Completion',
        status_id: 0,
        status: 'Unknown',
        status_detail:
          e.mechanism === 'uprobe'
            ? 'the function returned (its effects stay), then bpfgate killed the process (SIGKILL)'
            : 'the system call completed (its effects stay; its result is not known to bpfgate), then bpfgate killed the process (SIGKILL)',
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
    case 'would-kill-after':
      return {
        action_id: 3,
        action: 'Observed',
        disposition_id: 15,
        disposition: 'Detected',
        status_id: 1,
        status: 'Success',
        status_detail: `audit mode: bpfgate ${WOULD[e.outcome]}`,
      };
  }
}

const msOf = (ns: string): number => Number(BigInt(ns) / 1_000_000n);

export function toOcsf(e: ViolationEvent): Json {
  const m = kindOf(e.kind).ocsf({ target: e.target, host: e.host, process: e.process });
  const severityId = SEVERITIES.indexOf(e.policy.severity) + 1;
  const severity = SEVERITY_NAME[e.policy.severity];
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
        ...(e.unresolved ? { unresolved: true } : {}),
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
