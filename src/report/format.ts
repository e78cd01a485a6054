import { formatJson } from './json.ts';
import { formatJunit } from './junit.ts';
import type { FailOn, Report } from './model.ts';
import { formatSarif } from './sarif.ts';
import { formatText } from './text.ts';

export const OUTPUT_FORMATS = ['text', 'json', 'sarif', 'junit'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function isOutputFormat(value: unknown): value is OutputFormat {
  return typeof value === 'string' && (OUTPUT_FORMATS as readonly string[]).includes(value);
}

export interface FormatOptions {
  readonly failOn: FailOn;
  /** Text only: ANSI colours. */
  readonly color: boolean;
}

/** The report in one of the output formats: data in, string out. */
export function formatReport(report: Report, format: OutputFormat, options: FormatOptions): string {
  switch (format) {
    case 'text':
      return formatText(report, options);
    case 'json':
      return formatJson(report, options);
    case 'sarif':
      return formatSarif(report);
    case 'junit':
      return formatJunit(report, options);
  }
}
