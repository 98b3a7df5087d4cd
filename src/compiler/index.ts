// The compiler's public surface. compile() is pure; loadFeatureFile() reads a
// file. The encoders the loader needs for host state (cgroup scopes and
// exceptions, bg_state) are in the contract layer, src/abi/encode/.
export { type CompileOptions, compile } from './compile.ts';
export { FeatureFileError, MapCapacityError, UnencodableError } from './errors.ts';
export { explainTable } from './explain.ts';
export { loadFeatureFile, parseFeatureSet, SHIPPED_FEATURES } from './feature-file.ts';
