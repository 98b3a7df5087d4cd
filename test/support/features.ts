// The shipped feature files, for tests.
import { loadFeatureFile, SHIPPED_FEATURES } from '../../src/compiler/feature-file.ts';

export const LSM = loadFeatureFile(SHIPPED_FEATURES.lsm);
export const NO_LSM = loadFeatureFile(SHIPPED_FEATURES['no-lsm']);
