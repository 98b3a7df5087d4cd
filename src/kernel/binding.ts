// The libbpf binding: the ONLY module that talks to native/build/Release/bpfgate.node.
// Objects, maps, links, ring-buffer readers and probes, with typed errors
// (KernelError). See native/README.md for the addon underneath.
export {
  call as callNative,
  EACCES,
  EPERM,
  errnoName,
  isPrivilegeError,
  KernelError,
  NativeBindingError,
} from './binding/errors.ts';
export { BpfLink, type LinkInfo } from './binding/link.ts';
export {
  type BatchResult,
  BpfMap,
  type MapInfo,
  splitPercpu,
  UpdateFlag,
  type UpdateFlagName,
  unpin,
} from './binding/map.ts';
export { DEFAULT_ADDON_PATH, loadAddon } from './binding/native.ts';
export {
  type AttachOptions,
  AttachSpecError,
  BpfObject,
  type KprobeOptions,
  type MapDesc,
  type OpenOptions,
  type ProgramDesc,
} from './binding/object.ts';
export {
  btfFunctions,
  isBpffs,
  lastLibbpfLog,
  libbpfVersion,
  numPossibleCpus,
  probeHelper,
  probeMapType,
  probeProgType,
  setLibbpfDebug,
} from './binding/probe.ts';
export {
  DEFAULT_MAX_BATCH,
  RecordBatch,
  type RingBufferOptions,
  RingBufferReader,
} from './binding/ringbuf.ts';
