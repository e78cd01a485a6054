/** `text` at most `max` characters long: a longer one is cut to `max - 1` characters and ends with `…`. */
export function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
