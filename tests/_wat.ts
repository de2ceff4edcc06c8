// Test helper: assembles WAT text with wabt (npm), all features on.
import wabtInit from "wabt";

const wabt = await wabtInit();

/**
 * Assembles a WAT module.
 *
 * @param source the module text
 * @returns the binary
 */
export function wat(source: string): Uint8Array {
  const module = wabt.parseWat("test.wat", source, {
    multi_value: true,
    bulk_memory: true,
    reference_types: true,
    simd: true,
    exceptions: true,
    tail_call: true,
    memory64: true,
    threads: true,
  });
  try {
    return new Uint8Array(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}
