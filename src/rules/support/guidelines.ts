/**
 * Which edition of Dapr's production guidelines the defaults follow (`guidelines` in the configuration):
 * - `dapr-0.11`: the tables this project was specified from, the page as of Dapr v0.11 (2020): sidecar
 *   limits cpu 4 / memory 4000Mi, control-plane memory limits, a Dashboard row. The default.
 * - `dapr-1.13`: the page since Dapr 1.13, unchanged through 1.18 (docs.dapr.io, February 2026): sidecar
 *   limits 300m / 1000Mi with a GOMEMLIMIT soft limit at 90 % of the memory limit, control-plane memory
 *   requests only ("to avoid OOMKilled"), no Dashboard row.
 */
export const GUIDELINES = ['dapr-0.11', 'dapr-1.13'] as const;

export type Guidelines = (typeof GUIDELINES)[number];

export const DEFAULT_GUIDELINES: Guidelines = 'dapr-0.11';
