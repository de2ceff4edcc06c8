// The WASI example in C with wasi-libc, and with emscripten's standalone WASI build: every
// language's wasi_app prints the same lines for the same arguments.
//   wasi_app SRC DST STATUS [ARG...]
// copies SRC to DST (paths beneath preopened directories), echoes its arguments and the
// variable GREETING, checks the clocks, draws random bytes and exits with STATUS.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#ifdef __EMSCRIPTEN__
// emscripten 3.1.6's standalone libc opens no files (open answers EPERM) and draws random
// bytes through a JavaScript import (env.getentropy), so here both go to WASI directly.
#include <string.h>
#include <wasi/api.h>

// Opens `path` beneath the preopened directory its first component names, as wasi-libc does.
static FILE *open_file(const char *path, const char *mode) {
  int writing = mode[0] == 'w';
  for (__wasi_fd_t dir = 3;; dir++) {
    __wasi_prestat_t prestat;
    char name[256];
    __wasi_errno_t error = __wasi_fd_prestat_get(dir, &prestat);
    if (error != 0) {
      errno = error == __WASI_ERRNO_BADF ? __WASI_ERRNO_NOTCAPABLE : error;
      return NULL;
    }
    size_t len = prestat.u.dir.pr_name_len;
    if (len >= sizeof name || __wasi_fd_prestat_dir_name(dir, (uint8_t *)name, len) != 0) continue;
    if (strncmp(path, name, len) != 0 || path[len] != '/') continue;
    __wasi_rights_t rights = writing ? __WASI_RIGHTS_FD_WRITE : __WASI_RIGHTS_FD_READ;
    __wasi_oflags_t oflags = writing ? __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC : 0;
    __wasi_fd_t fd;
    const char *rest = path + len + 1;
    error = __wasi_path_open(dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, rest, strlen(rest), oflags,
                             rights | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_FILESTAT_GET, 0, 0,
                             &fd);
    if (error != 0) {
      errno = error;
      return NULL;
    }
    return fdopen((int)fd, mode);
  }
}

static int random_fill(unsigned char *buf, size_t len) {
  __wasi_errno_t error = __wasi_random_get(buf, len);
  if (error != 0) errno = error;
  return error == 0 ? 0 : -1;
}
#else
#define open_file fopen
#define random_fill getentropy
#endif

static long long monotonic_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

// The number of bytes copied, or -errno.
static long copy(const char *from, const char *to) {
  FILE *in = open_file(from, "rb");
  if (!in) return -errno;
  FILE *out = open_file(to, "wb");
  if (!out) {
    int error = errno;
    fclose(in);
    return -error;
  }
  char buf[4096];
  size_t n;
  long total = 0;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) total += (long)fwrite(buf, 1, n, out);
  fclose(in);
  fclose(out);
  return total;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: wasi_app SRC DST STATUS [ARG...]\n");
    return 2;
  }
  printf("argc %d\n", argc);
  for (int i = 1; i < argc; i++) printf("argv[%d] %s\n", i, argv[i]);
  const char *greeting = getenv("GREETING");
  if (greeting) printf("env GREETING=%s\n", greeting);
  else printf("env GREETING unset\n");

  long long before = monotonic_ns();
  long copied = copy(argv[1], argv[2]);
  if (copied >= 0) printf("copy %s -> %s: %ld bytes\n", argv[1], argv[2], copied);
  else printf("copy %s -> %s: errno %ld\n", argv[1], argv[2], -copied);

  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  int clocks_ok = wall.tv_sec > 1577836800 && monotonic_ns() >= before;
  printf("clock %s\n", clocks_ok ? "ok" : "wrong");

  unsigned char random[16];
  if (random_fill(random, sizeof random) == 0) printf("random %zu bytes\n", sizeof random);
  else printf("random errno %d\n", errno);

  int status = atoi(argv[3]);
  printf("exit %d\n", status);
  exit(status);
}
