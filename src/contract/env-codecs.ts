/**
 * How the env contract writes a value and reads it back: one codec per format, each throwing EnvError with the
 * bad value. The variables themselves are in env.ts.
 */
import { formatLocation, ObjectLocation, parseLocation } from './location';

/** A variable that is missing or not in its format; the message names the variable and shows the value. */
export class EnvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvError';
  }
}

/** One variable: its name, how a value is written, and how the text is read back (throwing EnvError). */
export interface EnvField<T> {
  readonly name: string;
  /** What the value is, for error messages and the docs: `a namespace name`, `whole seconds`, … */
  readonly format: string;
  encode(value: T): string;
  decode(text: string): T;
}

export type Codec<T> = Omit<EnvField<T>, 'name'>;

export const fail = (format: string, text: string): never => {
  throw new EnvError(`${JSON.stringify(text)} is not ${format}`);
};

/** Text matching `pattern`; `empty` allows the empty string (an unset option). */
export function text(format: string, pattern = /\S/, empty = false): Codec<string> {
  return {
    format,
    encode: (v) => v,
    decode: (t) => ((t === '' && empty) || pattern.test(t) ? t : fail(format, t)),
  };
}

export function integer(min: number, unit: string): Codec<number> {
  const format = `an integer >= ${min} (${unit})`;
  return {
    format,
    encode: (v) => String(v),
    decode: (t) => {
      const n = Number(t);
      return t !== '' && Number.isInteger(n) && n >= min ? n : fail(format, t);
    },
  };
}

/** A comma-separated list; empty is the empty list. `item` checks each entry. */
export function list(item: Codec<string>, lower = false): Codec<string[]> {
  return {
    format: `a comma-separated list of ${item.format}`,
    encode: (v) => v.join(','),
    decode: (t) =>
      t
        .split(',')
        .map((s) => (lower ? s.trim().toLowerCase() : s.trim()))
        .filter(Boolean)
        .map((s) => item.decode(s)),
  };
}

export function oneOf<T extends string>(values: readonly T[]): Codec<T> {
  const format = `one of ${values.join(', ')}`;
  return { format, encode: (v) => v, decode: (t) => (values.includes(t as T) ? (t as T) : fail(format, t)) };
}

export const BOOL: Codec<boolean> = {
  format: '"true" or "false"',
  encode: (v) => String(v),
  decode: (t) => (t === 'true' ? true : t === 'false' ? false : fail('"true" or "false"', t)),
};

/** `label:<key>`, `annotation:<key>` or `field:<path>`, or empty for none. */
export const LOCATION: Codec<ObjectLocation | undefined> = {
  format: 'label:<key>, annotation:<key>, field:<path> or empty',
  encode: (v) => formatLocation(v),
  decode: (t) => {
    try {
      return parseLocation(t);
    } catch (e) {
      throw new EnvError((e as Error).message);
    }
  },
};

/** A variable: its name, and its codec. */
export const field = <T>(name: string, codec: Codec<T>): EnvField<T> => ({ name, ...codec });
