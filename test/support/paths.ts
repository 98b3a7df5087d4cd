// Where things are, for every test, bench and tool: the checkout (found from
// this file's location, so it may live anywhere), the CLI and the fixtures.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root, without a trailing slash. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The project root with a trailing slash, for `${ROOT}bin/bpfgate.js`. */
export const ROOT = `${PROJECT_ROOT}/`;
/** The command-line entry point. */
export const BPFGATE = `${ROOT}bin/bpfgate.js`;
/** Test fixtures (policies, records, golden files). */
export const FIXTURES = `${ROOT}test/fixtures`;
/** Scratch and build outputs of tests and benchmarks (git-ignored). */
export const CACHE = `${ROOT}.cache`;
