// The OCSF 1.8.0 classes the kinds map their violations to, and the objects
// they fill. Why each kind has its class: docs/events.md. Pure.
import { basename } from 'node:path';
import type { Json } from './schema.ts';

export interface OcsfClass {
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
  script: { ...SYSTEM, class_uid: 1009, class_name: 'Script Activity' },
  authentication: {
    category_uid: 3,
    category_name: 'Identity & Access Management',
    class_uid: 3002,
    class_name: 'Authentication',
  },
  network: { ...NETWORK, class_uid: 4001, class_name: 'Network Activity' },
} as const satisfies Record<string, OcsfClass>;

/** An OCSF file object (type_id 1 a regular file, 2 a folder). */
export const fileObj = (path: string, typeId = 1): Json => ({
  name: basename(path) || path || '(unknown)',
  ...(path ? { path } : {}),
  type_id: typeId,
});

/** An OCSF user object. */
export const userObj = (uid: number, name?: string): Json => ({
  uid: String(uid),
  ...(name ? { name } : {}),
});
