// Stable diagnostic codes of the policy validator. Tests and tools match on
// these, never on message text. The table is the source of the reference in
// docs/policy-language.md (the diagnostic codes).

export const CODES = {
  YAML_SYNTAX: 'the file is not well-formed YAML (also: duplicate keys in one mapping)',
  YAML_LIMIT:
    'the YAML is larger than 1 MiB, nests deeper than 64 levels or holds more than 100 aliases: not parsed',
  FILE_NOT_FOUND: 'a path given on the command line does not exist',
  READ_ERROR: 'a file or folder exists but cannot be read',
  FILE_TOO_LARGE: 'a file is larger than a policy file may be (4 MiB); it is not read',
  NOT_TEXT: 'a file is binary (a NUL byte, or not UTF-8); its content is not shown',
  NOT_A_POLICY: 'a document has none of the keys apiVersion, kind, metadata, spec; its content is not shown',
  NO_POLICIES: 'a folder holds no *.yaml or *.yml file (warning)',
  UNKNOWN_KEY: 'a key the language does not define, usually a typo; never ignored',
  MISSING_FIELD: 'a required key is absent',
  INVALID_TYPE: 'a value has the wrong type (a string where a list is expected, ...)',
  INVALID_VALUE: 'a value outside the allowed set or range, or a malformed name',
  INVALID_API_VERSION: 'apiVersion is not bpfgate.dev/v1',
  INVALID_KIND: 'the document kind is not Policy',
  INVALID_CIDR: 'an address is not a CIDR such as 10.0.0.0/8 or fd00::/8, or has host bits set',
  INVALID_PORT_RANGE: 'a port is not 1-65535, or a range is not "low-high" with low <= high',
  UNKNOWN_CAPABILITY: 'a capability name Linux does not define',
  UNKNOWN_BPF_COMMAND: 'a bpf() command name Linux does not define',
  RELATIVE_PATH: 'a path, executable or cgroup does not start with /',
  NON_CANONICAL_PATH: 'a path contains //, /./ or /../ and could never match the path the kernel reports',
  PATH_TOO_LONG: 'a path or name is longer than the kernel maps hold (251 bytes + NUL)',
  INVALID_GLOB:
    'a wildcard where none is allowed, or a cgroup glob other than * within a component or a final /**',
  DUPLICATE_RULE_ID: 'two rules of one policy have the same id',
  DUPLICATE_POLICY_NAME: 'two policies of the set have the same name',
  CONFLICTING_RULES: 'one policy gives the same target two different actions',
  EXE_DIGESTS_DIFFER: 'two exceptions of the set pin one executable to different SHA-256 digests',
  DUPLICATE_TARGET: 'one policy names the same target twice with the same action (warning)',
  TOO_MANY_ENTRIES: 'the set needs more policies or map entries than the kernel maps hold',
  ACTION_NOT_ALLOWED_FOR_KIND:
    'allow on a kind other than exec, file, connect and bind, or a kprobe rule that is not audit',
  ALLOWLIST_WITHOUT_ALLOW: 'defaultAction: block without any allow rule would block everything in scope',
  EMPTY_MATCH: 'a rule that can never match: no target, or an explicitly empty list',
} as const;

export type DiagnosticCode = keyof typeof CODES;
