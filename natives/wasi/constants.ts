/**
 * The numbers of `wasi_snapshot_preview1`: errno values, rights bits, file types and flags,
 * with the spec's names (lower case, as in the witx files).
 *
 * @module
 */

/** Error codes returned by every WASI function (`errno`, a u16). */
export const Errno = {
  success: 0,
  "2big": 1,
  acces: 2,
  addrinuse: 3,
  addrnotavail: 4,
  afnosupport: 5,
  again: 6,
  already: 7,
  badf: 8,
  badmsg: 9,
  busy: 10,
  canceled: 11,
  child: 12,
  connaborted: 13,
  connrefused: 14,
  connreset: 15,
  deadlk: 16,
  destaddrreq: 17,
  dom: 18,
  dquot: 19,
  exist: 20,
  fault: 21,
  fbig: 22,
  hostunreach: 23,
  idrm: 24,
  ilseq: 25,
  inprogress: 26,
  intr: 27,
  inval: 28,
  io: 29,
  isconn: 30,
  isdir: 31,
  loop: 32,
  mfile: 33,
  mlink: 34,
  msgsize: 35,
  multihop: 36,
  nametoolong: 37,
  netdown: 38,
  netreset: 39,
  netunreach: 40,
  nfile: 41,
  nobufs: 42,
  nodev: 43,
  noent: 44,
  noexec: 45,
  nolck: 46,
  nolink: 47,
  nomem: 48,
  nomsg: 49,
  noprotoopt: 50,
  nospc: 51,
  nosys: 52,
  notconn: 53,
  notdir: 54,
  notempty: 55,
  notrecoverable: 56,
  notsock: 57,
  notsup: 58,
  notty: 59,
  nxio: 60,
  overflow: 61,
  ownerdead: 62,
  perm: 63,
  pipe: 64,
  proto: 65,
  protonosupport: 66,
  prototype: 67,
  range: 68,
  rofs: 69,
  spipe: 70,
  srch: 71,
  stale: 72,
  timedout: 73,
  txtbsy: 74,
  xdev: 75,
  notcapable: 76,
} as const;

/** One errno value. */
export type ErrnoValue = (typeof Errno)[keyof typeof Errno];

/** Rights bits (`rights`, a u64; every defined bit fits in 30, so they are numbers here). */
export const Rights = {
  fd_datasync: 1 << 0,
  fd_read: 1 << 1,
  fd_seek: 1 << 2,
  fd_fdstat_set_flags: 1 << 3,
  fd_sync: 1 << 4,
  fd_tell: 1 << 5,
  fd_write: 1 << 6,
  fd_advise: 1 << 7,
  fd_allocate: 1 << 8,
  path_create_directory: 1 << 9,
  path_create_file: 1 << 10,
  path_link_source: 1 << 11,
  path_link_target: 1 << 12,
  path_open: 1 << 13,
  fd_readdir: 1 << 14,
  path_readlink: 1 << 15,
  path_rename_source: 1 << 16,
  path_rename_target: 1 << 17,
  path_filestat_get: 1 << 18,
  path_filestat_set_size: 1 << 19,
  path_filestat_set_times: 1 << 20,
  fd_filestat_get: 1 << 21,
  fd_filestat_set_size: 1 << 22,
  fd_filestat_set_times: 1 << 23,
  path_symlink: 1 << 24,
  path_remove_directory: 1 << 25,
  path_unlink_file: 1 << 26,
  poll_fd_readwrite: 1 << 27,
  sock_shutdown: 1 << 28,
  sock_accept: 1 << 29,
} as const;

const R = Rights;

/** What a regular file descriptor can ever hold. */
export const FILE_RIGHTS: number = R.fd_datasync | R.fd_read | R.fd_seek |
  R.fd_fdstat_set_flags | R.fd_sync | R.fd_tell | R.fd_write | R.fd_advise | R.fd_allocate |
  R.fd_filestat_get | R.fd_filestat_set_size | R.fd_filestat_set_times | R.poll_fd_readwrite;

/** What a directory descriptor can ever hold (no read, write, seek or set_size of its own). */
export const DIRECTORY_RIGHTS: number = R.fd_fdstat_set_flags | R.fd_sync | R.fd_advise |
  R.path_create_directory | R.path_create_file | R.path_link_source | R.path_link_target |
  R.path_open | R.fd_readdir | R.path_readlink | R.path_rename_source | R.path_rename_target |
  R.path_filestat_get | R.path_filestat_set_size | R.path_filestat_set_times |
  R.fd_filestat_get | R.fd_filestat_set_times | R.path_symlink | R.path_remove_directory |
  R.path_unlink_file | R.poll_fd_readwrite;

/** Everything a preopened directory passes on to what is opened beneath it. */
export const INHERITING_RIGHTS: number = FILE_RIGHTS | DIRECTORY_RIGHTS;

/** Rights that need the host file opened for reading. */
export const READ_RIGHTS: number = R.fd_read | R.fd_readdir;

/** Rights that need the host file opened for writing (what wasi-libc asks for O_WRONLY). */
export const WRITE_RIGHTS: number = R.fd_datasync | R.fd_write | R.fd_allocate |
  R.fd_filestat_set_size;

/** File types (`filetype`, a u8). */
export const Filetype = {
  unknown: 0,
  block_device: 1,
  character_device: 2,
  directory: 3,
  regular_file: 4,
  socket_dgram: 5,
  socket_stream: 6,
  symbolic_link: 7,
} as const;

/** One file type value. */
export type FiletypeValue = (typeof Filetype)[keyof typeof Filetype];

/** Descriptor flags (`fdflags`, a u16). */
export const Fdflags = { append: 1, dsync: 2, nonblock: 4, rsync: 8, sync: 16 } as const;

/** Open flags of `path_open` (`oflags`, a u16). */
export const Oflags = { creat: 1, directory: 2, excl: 4, trunc: 8 } as const;

/** Lookup flags of the `path_*` functions (`lookupflags`, a u32). */
export const Lookupflags = { symlink_follow: 1 } as const;

/** Which timestamps `*_set_times` changes (`fstflags`, a u16). */
export const Fstflags = { atim: 1, atim_now: 2, mtim: 4, mtim_now: 8 } as const;

/** Seek origins (`whence`, a u8). */
export const Whence = { set: 0, cur: 1, end: 2 } as const;

/** Clocks (`clockid`, a u32). */
export const Clockid = {
  realtime: 0,
  monotonic: 1,
  process_cputime_id: 2,
  thread_cputime_id: 3,
} as const;

/** Subscription and event kinds of `poll_oneoff` (`eventtype`, a u8). */
export const Eventtype = { clock: 0, fd_read: 1, fd_write: 2 } as const;

/** Flags of a clock subscription (`subclockflags`, a u16). */
export const Subclockflags = { subscription_clock_abstime: 1 } as const;

/** Advice values of `fd_advise` (`advice`, a u8): normal … noreuse. */
export const ADVICE_MAX = 5;

/** The only preopen type (`preopentype`, a u8). */
export const PREOPENTYPE_DIR = 0;
