// Test helper: assembles WAT text with wabt (npm).
import wabtInit from "wabt";

const wabt = await wabtInit();

/** Every proposal wabt can assemble and V8 runs. */
export const ALL_FEATURES: Record<string, boolean> = {
  multi_value: true,
  bulk_memory: true,
  reference_types: true,
  simd: true,
  relaxed_simd: true,
  exceptions: true,
  tail_call: true,
  multi_memory: true,
  memory64: true,
  threads: true,
  gc: true,
  function_references: true,
  extended_const: true,
};

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
