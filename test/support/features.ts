// The shipped feature files, for tests.
import { loadFeatureFile, SHIPPED_FEATURES } from '../../src/compiler/feature-file.ts';

export const LSM = loadFeatureFile(SHIPPED_FEATURES.lsm);
/** BPF-LSM built but not active: the fmod_ret rung */
export const FMOD_RET = loadFeatureFile(SHIPPED_FEATURES['fmod-ret']);
export const NO_LSM = loadFeatureFile(SHIPPED_FEATURES['no-lsm']);
