// The WASI example in AssemblyScript, on WASI imports declared here (AssemblyScript has no
// WASI library of its own): every language's wasi_app prints the same lines for the same
// arguments.
//   wasi_app SRC DST STATUS [ARG...]
// copies SRC to DST (paths beneath preopened directories), echoes its arguments and the
// variable GREETING, checks the clocks, draws random bytes and exits with STATUS.
// Built with the default `abort`, so the module imports `env.abort` as every default
// AssemblyScript build does.
//
// AssemblyScript, not TypeScript: deno fmt, lint and check leave this folder alone (deno.json).

@external("wasi_snapshot_preview1", "args_sizes_get")
declare function args_sizes_get(argc: usize, bufSize: usize): u16;
@external("wasi_snapshot_preview1", "args_get")
declare function args_get(argv: usize, buf: usize): u16;
@external("wasi_snapshot_preview1", "environ_sizes_get")
declare function environ_sizes_get(count: usize, bufSize: usize): u16;
@external("wasi_snapshot_preview1", "environ_get")
declare function environ_get(environ: usize, buf: usize): u16;
@external("wasi_snapshot_preview1", "clock_time_get")
declare function clock_time_get(id: u32, precision: u64, time: usize): u16;
@external("wasi_snapshot_preview1", "random_get")
declare function random_get(buf: usize, len: usize): u16;
@external("wasi_snapshot_preview1", "fd_prestat_get")
declare function fd_prestat_get(fd: u32, prestat: usize): u16;
@external("wasi_snapshot_preview1", "fd_prestat_dir_name")
declare function fd_prestat_dir_name(fd: u32, path: usize, len: usize): u16;
@external("wasi_snapshot_preview1", "path_open")
declare function path_open(
  dirfd: u32,
  dirflags: u32,
  path: usize,
  pathLen: usize,
  oflags: u32,
  rightsBase: u64,
  rightsInheriting: u64,
  fdflags: u32,
  fd: usize,
): u16;
@external("wasi_snapshot_preview1", "fd_read")
declare function fd_read(fd: u32, iovs: usize, iovsLen: usize, nread: usize): u16;
@external("wasi_snapshot_preview1", "fd_write")
declare function fd_write(fd: u32, iovs: usize, iovsLen: usize, nwritten: usize): u16;
@external("wasi_snapshot_preview1", "fd_close")
declare function fd_close(fd: u32): u16;
@external("wasi_snapshot_preview1", "proc_exit")
declare function proc_exit(code: u32): void;

const ERRNO_BADF: u16 = 8;
const ERRNO_NOTCAPABLE: u16 = 76;
const CLOCK_REALTIME: u32 = 0;
const CLOCK_MONOTONIC: u32 = 1;
const LOOKUP_SYMLINK_FOLLOW: u32 = 1;
const OFLAGS_CREAT_TRUNC: u32 = 1 | 8;
const RIGHT_FD_READ: u64 = 1 << 1;
const RIGHT_FD_SEEK: u64 = 1 << 2;
const RIGHT_FD_WRITE: u64 = 1 << 6;

// One scratch area for out-parameters and iovecs; no call keeps it past its return.
const scratch = memory.data(64, 8);

function writeAll(fd: u32, data: ArrayBuffer, len: i32 = data.byteLength): u16 {
  let at = changetype<usize>(data);
  let left = len;
  while (left > 0) {
    store<u32>(scratch, at);
    store<u32>(scratch, left, 4);
    const errno = fd_write(fd, scratch, 1, scratch + 8);
    if (errno != 0) return errno;
    const written = load<u32>(scratch + 8);
    at += written;
    left -= written;
  }
  return 0;
}

function print(line: string, fd: u32 = 1): void {
  writeAll(fd, String.UTF8.encode(line + "\n"));
}

// NUL-terminated UTF-8 strings laid out by args_get or environ_get.
function readStrings(
  sizes: (count: usize, bufSize: usize) => u16,
  get: (list: usize, buf: usize) => u16,
): string[] {
  sizes(scratch, scratch + 4);
  const count = load<u32>(scratch);
  const list = new ArrayBuffer(count * 4);
  const buf = new ArrayBuffer(load<u32>(scratch + 4));
  get(changetype<usize>(list), changetype<usize>(buf));
  const out = new Array<string>();
  for (let i: u32 = 0; i < count; i++) {
    const start = load<u32>(changetype<usize>(list) + i * 4);
    let end = start;
    while (load<u8>(end) != 0) end++;
    out.push(String.UTF8.decodeUnsafe(start, end - start));
  }
  return out;
}

function now(clock: u32): u64 {
  clock_time_get(clock, 1, scratch);
  return load<u64>(scratch);
}

// Opens `path` beneath the preopened directory its first component names, as wasi-libc
// does; returns the descriptor, or -errno.
function openFile(path: string, writing: bool): i32 {
  for (let dir: u32 = 3;; dir++) {
    const error = fd_prestat_get(dir, scratch);
    if (error != 0) return -i32(error == ERRNO_BADF ? ERRNO_NOTCAPABLE : error);
    const nameLength = load<u32>(scratch + 4);
    const name = new ArrayBuffer(nameLength);
    if (fd_prestat_dir_name(dir, changetype<usize>(name), nameLength) != 0) continue;
    const prefix = String.UTF8.decode(name) + "/";
    if (!path.startsWith(prefix)) continue;
    const rest = String.UTF8.encode(path.substring(prefix.length));
    const rights = (writing ? RIGHT_FD_WRITE : RIGHT_FD_READ) | RIGHT_FD_SEEK;
    const errno = path_open(
      dir,
      LOOKUP_SYMLINK_FOLLOW,
      changetype<usize>(rest),
      rest.byteLength,
      writing ? OFLAGS_CREAT_TRUNC : 0,
      rights,
      0,
      0,
      scratch,
    );
    return errno == 0 ? load<u32>(scratch) : -i32(errno);
  }
}

// The number of bytes copied, or -errno.
function copy(from: string, to: string): i64 {
  const input = openFile(from, false);
  if (input < 0) return input;
  const output = openFile(to, true);
  if (output < 0) {
    fd_close(input);
    return output;
  }
  const buf = new ArrayBuffer(4096);
  let total: i64 = 0;
  let errno: u16 = 0;
  while (errno == 0) {
    store<u32>(scratch, changetype<usize>(buf));
    store<u32>(scratch, buf.byteLength, 4);
    errno = fd_read(input, scratch, 1, scratch + 8);
    const n = load<u32>(scratch + 8);
    if (errno != 0 || n == 0) break;
    errno = writeAll(output, buf, n);
    total += n;
  }
  fd_close(input);
  fd_close(output);
  return errno == 0 ? total : -i64(errno);
}

function main(): u32 {
  const args = readStrings(args_sizes_get, args_get);
  if (args.length < 4) {
    print("usage: wasi_app SRC DST STATUS [ARG...]", 2);
    return 2;
  }
  print("argc " + args.length.toString());
  for (let i = 1; i < args.length; i++) print("argv[" + i.toString() + "] " + args[i]);
  const env = readStrings(environ_sizes_get, environ_get);
  let greeting = "env GREETING unset";
  for (let i = 0; i < env.length; i++) {
    if (env[i].startsWith("GREETING=")) greeting = "env " + env[i];
  }
  print(greeting);

  const before = now(CLOCK_MONOTONIC);
  const copied = copy(args[1], args[2]);
  const what = "copy " + args[1] + " -> " + args[2] + ": ";
  print(what + (copied >= 0 ? copied.toString() + " bytes" : "errno " + (-copied).toString()));

  const clocksOk = now(CLOCK_REALTIME) > 1577836800_000_000_000 && now(CLOCK_MONOTONIC) >= before;
  print("clock " + (clocksOk ? "ok" : "wrong"));

  const random = new ArrayBuffer(16);
  const errno = random_get(changetype<usize>(random), random.byteLength);
  print(
    errno == 0
      ? "random " + random.byteLength.toString() + " bytes"
      : "random errno " + errno.toString(),
  );

  const status = I32.parseInt(args[3]);
  print("exit " + status.toString());
  return status;
}

proc_exit(main());
