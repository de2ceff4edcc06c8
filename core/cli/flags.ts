/**
 * The command line of every command, read from one table per command: each row names a flag's
 * spellings and how its value is read, and the reader returns an object typed after the table.
 * Two syntaxes: iwasm's (`--flag=value`, `--flag value`, `-v=N`), and getopt_long's for the
 * host tool (`-qNAME`, `-hq`, `--query[=NAME]`). Mistakes are {@linkcode UsageError}s.
 *
 * Kept free of `node:` imports: the run command reads its flags here before every app.
 *
 * @module
 */

import { parseByteSize } from "../../sdk/byte_size.ts";

/** A mistake on the command line; commands print its message and exit with status 2. */
export class UsageError extends Error {
  /**
   * Creates the error.
   *
   * @param message what is wrong, naming the argument
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Reads one flag's value; throws a {@linkcode UsageError} when the text does not fit. */
export type ParseValue<T> = (text: string, name: string) => T;

/**
 * One row of a flag table: the flag's spellings, whether it takes a value, and what each
 * occurrence makes of the result. Built with {@linkcode switchFlag}, {@linkcode valueFlag},
 * {@linkcode listFlag} and {@linkcode inlineFlag}.
 */
export interface Flag<T> {
  /** Its spellings, e.g. `-f` and `--function`; value errors name the first long one. */
  readonly names: readonly string[];
  /**
   * `"none"`: a switch. `"required"`: `--flag=value` or the next argument (or attached,
   * `-P8888`, in getopt syntax). `"inline"`: only a value written onto the flag (`-v=3`,
   * `--query=NAME`, `-qNAME`); the flag alone has none.
   */
  readonly value: "none" | "required" | "inline";
  /** The result when the flag is absent. */
  readonly initial: T;
  /**
   * The result after one more occurrence.
   *
   * @param previous the result so far
   * @param text the value, undefined for a switch or an inline flag given alone
   * @param name the flag's name for messages (its first long spelling)
   */
  update(previous: T, text: string | undefined, name: string): T;
}

/** Flags by the name of their result. */
export type FlagTable = Readonly<Record<string, Flag<unknown>>>;

/** What {@linkcode readFlags} makes of a table: one typed field per row. */
export type FlagValues<S extends FlagTable> = {
  -readonly [K in keyof S]: S[K] extends Flag<infer T> ? T : never;
};

/**
 * A switch: true when given.
 *
 * @param names its spellings
 * @returns the row
 */
export function switchFlag(...names: string[]): Flag<boolean> {
  return { names, value: "none", initial: false, update: () => true };
}

/**
 * A flag with a value, undefined when absent; the last occurrence wins.
 *
 * @param names its spellings
 * @param parse reads the value
 * @returns the row
 */
export function valueFlag<T>(names: readonly string[], parse: ParseValue<T>): Flag<T | undefined>;
/**
 * A flag with a value and a default; the last occurrence wins.
 *
 * @param names its spellings
 * @param parse reads the value
 * @param initial the result when absent
 * @returns the row
 */
export function valueFlag<T>(names: readonly string[], parse: ParseValue<T>, initial: T): Flag<T>;
export function valueFlag<T>(
  names: readonly string[],
  parse: ParseValue<T>,
  initial?: T,
): Flag<T | undefined> {
  return {
    names,
    value: "required",
    initial,
    update: (_previous, text, name) => parse(text!, name),
  };
}

/**
 * A repeatable flag: every value, in order.
 *
 * @param names its spellings
 * @param parse reads one value
 * @returns the row
 */
export function listFlag<T>(names: readonly string[], parse: ParseValue<T>): Flag<T[]> {
  return {
    names,
    value: "required",
    initial: [],
    update: (previous, text, name) => [...previous, parse(text!, name)],
  };
}

/**
 * A flag whose value, if any, is written onto it (`--query`, `--query=NAME`), undefined when
 * absent; the last occurrence wins.
 *
 * @param names its spellings
 * @param parse reads the value, or gets undefined when the flag comes alone
 * @returns the row
 */
export function inlineFlag<T>(
  names: readonly string[],
  parse: (text: string | undefined, name: string) => T,
): Flag<T | undefined>;
/**
 * A flag whose value, if any, is written onto it (`-v`, `-v=4`), with a default; the last
 * occurrence wins.
 *
 * @param names its spellings
 * @param parse reads the value, or gets undefined when the flag comes alone
 * @param initial the result when absent
 * @returns the row
 */
export function inlineFlag<T>(
  names: readonly string[],
  parse: (text: string | undefined, name: string) => T,
  initial: T,
): Flag<T>;
export function inlineFlag<T>(
  names: readonly string[],
  parse: (text: string | undefined, name: string) => T,
  initial?: T,
): Flag<T | undefined> {
  return { names, value: "inline", initial, update: (_previous, text, name) => parse(text, name) };
}

/**
 * The value as written.
 *
 * @param value the argument
 * @returns the same text
 */
export function text(value: string): string {
  return value;
}

/**
 * The usage error for a value that does not fit its flag.
 *
 * @param name the flag
 * @param value what was given
 * @param expected what fits, e.g. `a number`
 * @returns `Invalid value for --port: "http" (expected a number)`
 */
export function invalidValue(name: string, value: string, expected: string): UsageError {
  return new UsageError(`Invalid value for ${name}: "${value}" (expected ${expected})`);
}

/**
 * A reader of whole numbers written in decimal digits.
 *
 * @param expected how the error describes them, e.g. `a number`
 * @param max the largest accepted (default: no limit)
 * @returns the reader
 */
export function count(expected: string, max = Infinity): ParseValue<number> {
  return function readCount(value: string, name: string): number {
    if (!/^\d+$/.test(value) || Number(value) > max) throw invalidValue(name, value, expected);
    return Number(value);
  };
}

/**
 * A reader of one word out of a few.
 *
 * @param choices the words accepted
 * @returns the reader; its error lists the choices (`expected trap or error`)
 */
export function oneOf<T extends string>(...choices: readonly T[]): ParseValue<T> {
  const expected = choices.length < 2
    ? choices.join("")
    : `${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}`;
  return function readChoice(value: string, name: string): T {
    if (!(choices as readonly string[]).includes(value)) throw invalidValue(name, value, expected);
    return value as T;
  };
}

/**
 * A reader of byte sizes: `65536`, `64K`, `64M`, `1GiB` (see `sdk/byte_size.ts`).
 *
 * @param expected how the error describes them, e.g. `bytes, e.g. 64M`
 * @returns the reader
 */
export function byteSize(expected: string): ParseValue<number> {
  return function readByteSize(value: string, name: string): number {
    try {
      return parseByteSize(value);
    } catch {
      throw invalidValue(name, value, expected);
    }
  };
}

/** How {@linkcode readFlags} treats the arguments. */
export interface ReadFlagsOptions {
  /**
   * What an argument that is not a flag does (`-` is one; so is everything after `--`):
   * `"stop"` ends the flags there, like iwasm, where the app and its arguments follow;
   * `"collect"` keeps it in `args` and reads on; `"reject"` is a usage error. Default
   * `"collect"`.
   */
  args?: "stop" | "collect" | "reject";
  /**
   * Read getopt_long's syntax, like WAMR's host_tool: short flags cluster (`-hq`) and take
   * their value attached (`-P8888`, `-qNAME`), and a switch given a value is an error.
   * Default false: iwasm's syntax, where any flag may take `=value` (`-v=3`, `-f=main`) and a
   * switch ignores it.
   */
  getopt?: boolean;
}

/** What {@linkcode readFlags} returns. */
export interface ReadFlags<S extends FlagTable> {
  /** One field per row of the table. */
  flags: FlagValues<S>;
  /** The arguments that are not flags, in order (with `"stop"`: from the first one on). */
  args: string[];
}

/**
 * Reads a command line against a flag table.
 *
 * @param table the flags by result name
 * @param argv the arguments
 * @param options the syntax and what non-flag arguments do
 * @returns the typed flags and the other arguments
 * @throws {UsageError} for an unknown flag, a missing or invalid value, or (`"reject"`) an
 *   argument that is not a flag
 *
 * @example A table read into typed flags
 * ```ts
 * import assert from "node:assert/strict";
 * import { count, listFlag, readFlags, switchFlag, text, valueFlag } from "./flags.ts";
 * const table = {
 *   port: valueFlag(["-P", "--port"], count("a number", 65535), 8888),
 *   plugins: listFlag(["--plugin"], text),
 *   verbose: switchFlag("-v", "--verbose"),
 * };
 * const { flags, args } = readFlags(table, ["--port=80", "--plugin", "a", "app.wasm", "-v"]);
 * assert.deepEqual(flags, { port: 80, plugins: ["a"], verbose: true });
 * assert.deepEqual(args, ["app.wasm"]);
 * assert.throws(() => readFlags(table, ["--port=http"]), {
 *   name: "UsageError",
 *   message: 'Invalid value for --port: "http" (expected a number)',
 * });
 * ```
 */
export function readFlags<S extends FlagTable>(
  table: S,
  argv: readonly string[],
  options: ReadFlagsOptions = {},
): ReadFlags<S> {
  const getopt = options.getopt ?? false;
  const onArg = options.args ?? "collect";
  const byName = new Map<string, [key: string, flag: Flag<unknown>]>();
  const values: Record<string, unknown> = {};
  for (const [key, flag] of Object.entries(table)) {
    for (const name of flag.names) byName.set(name, [key, flag]);
    values[key] = flag.initial;
  }
  const args: string[] = [];
  let i = 0;
  /** One occurrence of a flag, with the value written onto it if any. */
  const occur = (name: string, inline: string | undefined): void => {
    const [key, flag] = byName.get(name)!;
    let text = inline;
    if (flag.value === "none") {
      if (getopt && inline !== undefined) throw new UsageError(`Option "${name}" takes no value`);
      text = undefined;
    } else if (inline === undefined && flag.value === "required") {
      if (i + 1 >= argv.length) {
        throw new UsageError(
          getopt ? `Option "${name}" needs a value` : `Missing value for ${name}`,
        );
      }
      text = argv[++i];
    }
    values[key] = flag.update(values[key], text, _mainName(flag));
  };

  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    if (arg.length < 2 || arg[0] !== "-") {
      if (onArg === "stop") break;
      if (onArg === "reject") throw new UsageError(`Unknown option "${arg}"`);
      args.push(arg);
      continue;
    }
    if (getopt && arg[1] !== "-") {
      // A cluster of short flags: the first that takes a value takes the rest of the argument.
      for (let j = 1; j < arg.length; j++) {
        const name = "-" + arg[j];
        if (!byName.has(name)) throw new UsageError(`Unknown option "${name}"`);
        if (byName.get(name)![1].value === "none") {
          occur(name, undefined);
          continue;
        }
        occur(name, arg.length > j + 1 ? arg.slice(j + 1) : undefined);
        break;
      }
      continue;
    }
    // getopt_long splits long flags only; iwasm splits short ones too (`-v=3`).
    const eq = arg.indexOf("=", getopt ? 2 : 1);
    const name = eq < 0 ? arg : arg.slice(0, eq);
    if (!byName.has(name)) throw new UsageError(`Unknown option "${getopt ? name : arg}"`);
    occur(name, eq < 0 ? undefined : arg.slice(eq + 1));
  }
  for (const arg of argv.slice(i)) {
    if (onArg === "reject") throw new UsageError(`Unknown option "${arg}"`);
    args.push(arg);
  }
  return { flags: values as FlagValues<S>, args };
}

function _mainName(flag: Flag<unknown>): string {
  return flag.names.find((n) => n.startsWith("--")) ?? flag.names[0]!;
}
