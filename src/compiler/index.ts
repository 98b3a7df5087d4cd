// The compiler's public surface. compile() is pure; loadFeatureFile() reads a
// file; the encoders are for the loader, which writes host-state entries
// (cgroup scopes and exceptions, bg_state) that the plan cannot hold.
export { type CompileOptions, compile } from './compile.ts';
export { emptyGenConfig, encodeGenConfig, encodeState, type GenConfig, type State } from './encode/config.ts';
export { encodeCgroupException, encodeCgroupScope, encodeExeId, encodeIdScope } from './encode/scope.ts';
export { FeatureFileError, MapCapacityError, UnencodableError } from './errors.ts';
export { explainTable } from './explain.ts';
export { loadFeatureFile, parseFeatureSet, SHIPPED_FEATURES } from './feature-file.ts';
