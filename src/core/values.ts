// Reading a parsed YAML value as a number or a string, with what to use when it is not one: the one set of value
// helpers of the resolver and the sweep expansion.

/** `v` when it is a number, else `d`. */
export function numberOr(v: unknown, d: number): number;
export function numberOr(v: unknown, d?: undefined): number | undefined;
export function numberOr(v: unknown, d?: number): number | undefined {
  return typeof v === 'number' ? v : d;
}

/** `v` when it is a string (validated elsewhere against the schema's choices, so taken as `T`), else `d`. */
export function stringOr<T extends string>(v: unknown, d: T): T;
export function stringOr(v: unknown, d?: undefined): string | undefined;
export function stringOr(v: unknown, d?: string): string | undefined {
  return typeof v === 'string' ? v : d;
}
