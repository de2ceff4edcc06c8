// Test helper: assembles WAT text with wabt (npm).
import wabtInit from "wabt";
import { WAT_FEATURES } from "../core/cli/wat.ts";

const wabt = await wabtInit();

/** Every proposal wabt can assemble and V8 runs: the CLI's list for `.wat` apps. */
export const ALL_FEATURES: Record<string, boolean> = { ...WAT_FEATURES };

/** Options for {@linkcode wat}. */
export interface WatOptions {
  /** Write the `name` custom section (default false). */
  names?: boolean;
  /** The proposals to enable (default: all of them). */
  features?: Record<string, boolean>;
}

/**
 * Assembles a WAT module.
 *
 * @param source the module text
 * @param options names section and features
 * @returns the binary
 */
export function wat(source: string, options: WatOptions = {}): Uint8Array {
  const module = wabt.parseWat("test.wat", source, options.features ?? ALL_FEATURES);
  try {
    return new Uint8Array(module.toBinary({ write_debug_names: options.names ?? false }).buffer);
  } finally {
    module.destroy();
  }
}
