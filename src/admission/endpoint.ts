/** The two webhook endpoints, `/mutate` and `/validate`: which rules run, and the `endpoint` label of metrics and logs. */
export const ENDPOINTS = ['mutate', 'validate'] as const;
export type Endpoint = (typeof ENDPOINTS)[number];
