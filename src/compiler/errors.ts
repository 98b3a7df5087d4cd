// The compiler's typed errors. Validation (src/policy/) rejects policy sets
// that exceed the kernel's limits; these are the safety net behind it.
import { BpfgateError } from '../errors.ts';

/** A map (or the slot table) would hold more entries than the kernel map can. */
export class MapCapacityError extends BpfgateError {
  readonly map: string;
  readonly needed: number;
  readonly capacity: number;
  constructor(map: string, needed: number, capacity: number) {
    super('MAP_CAPACITY', `${map} would need ${needed} entries; one generation may use at most ${capacity}`);
    this.map = map;
    this.needed = needed;
    this.capacity = capacity;
  }
}

/** A value of the policy model that the kernel's byte layout cannot express. */
export class UnencodableError extends BpfgateError {
  readonly policy: string;
  readonly rule: string;
  constructor(policy: string, rule: string, message: string) {
    super('UNENCODABLE', `policy ${policy}, rule ${rule}: ${message}`);
    this.policy = policy;
    this.rule = rule;
  }
}

/** A feature file whose shape is not a FeatureSet. */
export class FeatureFileError extends BpfgateError {
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('INVALID_FEATURE_FILE', `${file}: ${message}`, options);
    this.file = file;
  }
}
