// Test set-up, run by `deno task test` before the tests: checks that the Debian packages the
// tests need are installed and, when run as root, installs the missing ones with apt-get, so the
// README's one test command is the whole set-up on a fresh machine. Otherwise it stops and says
// the one command to run. Silent and fast (checks run in parallel) when everything is there.

/** A Debian package the tests need and how to tell it is installed. */
interface Requirement {
  readonly package: string;
  /** Resolves to true when the package works; `dir` is a scratch directory. */
  readonly check: (dir: string) => Promise<boolean>;
}

const REQUIREMENTS: readonly Requirement[] = [
  { package: "clang-19", check: () => _runs("clang-19", "--version") },
  { package: "lld-19", check: _linksWasm },
  { package: "wabt", check: () => _runs("wat2wasm", "--version") },
  { package: "wasi-libc", check: () => _runs("test", "-f", "/usr/lib/wasm32-wasi/libc.a") },
  { package: "libclang-rt-19-dev-wasm32", check: () => _runs("test", "-f", WASM32_BUILTINS) },
  { package: "nodejs", check: () => _runs("node", "--version") },
  { package: "openssl", check: () => _runs("openssl", "version") },
  { package: "mosquitto", check: () => _runs("test", "-x", "/usr/sbin/mosquitto") },
  // Headless browser tests (the playground and the fleet console), driven by playwright-core.
  { package: "chromium", check: () => _runs("test", "-x", "/usr/bin/chromium") },
  // The WASI examples' toolchains (examples/wasi/build.ts).
  { package: "libc++-19-dev-wasm32", check: () => _runs("test", "-f", `${WASI_LIB}/libc++.a`) },
  {
    package: "libc++abi-19-dev-wasm32",
    check: () => _runs("test", "-f", `${WASI_LIB}/libc++abi.a`),
  },
  { package: "rustc", check: () => _runs("/usr/bin/rustc", "--version") },
  { package: "libstd-rust-dev-wasm32", check: () => _runs("test", "-d", RUST_WASI_STD) },
  { package: "lld-14", check: () => _runs("rust-lld", "-flavor", "wasm", "--version") },
  { package: "emscripten", check: () => _runs("emcc", "--version") },
];

const WASI_LIB = "/usr/lib/wasm32-wasi";
const RUST_WASI_STD = "/usr/lib/rustlib/wasm32-wasi/lib";

// The compiler-rt builtins clang-19 links into every wasm32-wasi program.
const WASM32_BUILTINS = "/usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a";

const APT_INSTALL = ["install", "-y", "--no-install-recommends"];

// Whether `command args…` starts and exits with status 0.
async function _runs(command: string, ...args: string[]): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

// wasm-ld-19 is there and clang-19 can link a wasm32 module with it, as sdk/c/build.ts does.
async function _linksWasm(dir: string): Promise<boolean> {
  if (!(await _runs("wasm-ld-19", "--version"))) return false;
  const source = `${dir}/probe.c`;
  await Deno.writeTextFile(source, "int probe(void) { return 1; }\n");
  return await _runs(
    "clang-19",
    "--target=wasm32",
    "-nostdlib",
    "-Wl,--no-entry",
    "-Wl,--export=probe",
    "-o",
    `${dir}/probe.wasm`,
    source,
  );
}

/**
 * The packages whose check fails, in list order.
 *
 * @returns the missing packages' names
 */
export async function missingPackages(): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "micro_runtime_setup_" });
  try {
    const present = await Promise.all(REQUIREMENTS.map((r) => r.check(dir)));
    return REQUIREMENTS.filter((_, i) => !present[i]).map((r) => r.package);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// Runs apt-get quietly; on failure prints its output and returns false.
async function _aptGet(args: string[]): Promise<boolean> {
  let result: Deno.CommandOutput;
  try {
    result = await new Deno.Command("apt-get", {
      args: ["-q", "-o", "DPkg::Lock::Timeout=600", ...args],
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    console.error("setup: apt-get not found");
    return false;
  }
  if (!result.success) {
    const decoder = new TextDecoder();
    console.error(decoder.decode(result.stdout) + decoder.decode(result.stderr));
    console.error(`setup: apt-get ${args.join(" ")} failed with status ${result.code}`);
  }
  return result.success;
}

/**
 * Checks the requirements, installs the missing ones when root.
 *
 * @returns the process exit status: 0 when every requirement is met
 */
export async function setup(): Promise<number> {
  const missing = await missingPackages();
  if (missing.length === 0) return 0;
  if (Deno.uid() !== 0) {
    console.error(
      `setup: missing ${missing.join(", ")}; run as root: apt-get update && apt-get ${
        [...APT_INSTALL, ...missing].join(" ")
      }`,
    );
    return 1;
  }
  console.error(`setup: installing ${missing.join(" ")} …`);
  if (!(await _aptGet(["update"])) || !(await _aptGet([...APT_INSTALL, ...missing]))) return 1;
  const still = await missingPackages();
  if (still.length > 0) {
    console.error(`setup: still missing after apt-get install: ${still.join(", ")}`);
    return 1;
  }
  console.error(`setup: installed ${missing.join(" ")}`);
  return 0;
}

if (import.meta.main) Deno.exit(await setup());
