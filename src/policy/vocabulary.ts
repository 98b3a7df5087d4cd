// The closed word lists of the policy language that every rule kind shares:
// severities, actions and modes. Which actions a kind accepts is the kind's
// own business (src/kinds/). Pure constants.

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** What a matching rule does. Each kind says which of these it accepts (`allow`: exec, file, connect, bind). */
export const ACTIONS = ['block', 'kill', 'audit', 'allow'] as const;
export type Action = (typeof ACTIONS)[number];

export const MODES = ['enforce', 'audit'] as const;
export type Mode = (typeof MODES)[number];
