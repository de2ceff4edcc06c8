// Load cost (issue 17): our reader plus V8's compile (`compileModuleSync`, what `loadSync` and,
// with `WebAssembly.compile`, `load` do) against `new WebAssembly.Module` alone, in one group per
// module so each ratio comes from the same run. Every module comes stripped and with its `name`
// section: real apps rebuilt by clang-19 (skipped when it is missing), and synthetic modules of
// 1,000 and 10,000 functions from 100 KB to 5 MB. Target: <= 1.15x at every size.
import { compileModuleSync } from "../core/module/module.ts";
import { namedApps, stripCustomSections, syntheticModule } from "./_modules.ts";

const cases: { label: string; bytes: Uint8Array }[] = [];
for (const app of await namedApps()) {
  cases.push({ label: app.label, bytes: stripCustomSections(app.bytes) });
  cases.push({ label: `${app.label} +names`, bytes: app.bytes });
}
for (
  const [functions, size] of [[1000, 100_000], [1000, 1_000_000], [10_000, 1_000_000], [
    10_000,
    5_000_000,
  ]] as const
) {
  for (const names of [false, true]) {
    const label = `${functions} fns${names ? " +names" : ""}`;
    cases.push({ label, bytes: syntheticModule(functions, size, names) });
  }
}

function _size(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.round(n / 1e3)} KB`;
}

for (const { label, bytes } of cases) {
  const group = `load ${label} (${_size(bytes.length)})`;
  const source = bytes as Uint8Array<ArrayBuffer>;
  Deno.bench(`${group}: new WebAssembly.Module`, { group, baseline: true }, () => {
    new WebAssembly.Module(source);
  });
  Deno.bench(`${group}: compileModuleSync`, { group }, () => {
    compileModuleSync(bytes, "bench");
  });
}
