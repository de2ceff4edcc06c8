// The WASI example in C++ with libc++ over wasi-libc: every language's wasi_app prints the
// same lines for the same arguments. Debian's wasm32 libc++ is built without file system
// support (no <fstream>), so files are C streams owned by unique_ptr.
//   wasi_app SRC DST STATUS [ARG...]
// copies SRC to DST (paths beneath preopened directories), echoes its arguments and the
// variable GREETING, checks the clocks, draws random bytes and exits with STATUS.
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <iostream>
#include <memory>
#include <random>

namespace {

using File = std::unique_ptr<std::FILE, int (*)(std::FILE *)>;

File open(const char *path, const char *mode) { return File(std::fopen(path, mode), std::fclose); }

// The number of bytes copied, or -errno.
long copy(const char *from, const char *to) {
  File in = open(from, "rb");
  if (!in) return -errno;
  File out = open(to, "wb");
  if (!out) return -errno;
  char buf[4096];
  long total = 0;
  while (std::size_t n = std::fread(buf, 1, sizeof buf, in.get())) {
    total += static_cast<long>(std::fwrite(buf, 1, n, out.get()));
  }
  return total;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 4) {
    std::cerr << "usage: wasi_app SRC DST STATUS [ARG...]\n";
    return 2;
  }
  std::cout << "argc " << argc << '\n';
  for (int i = 1; i < argc; i++) std::cout << "argv[" << i << "] " << argv[i] << '\n';
  if (const char *greeting = std::getenv("GREETING")) {
    std::cout << "env GREETING=" << greeting << '\n';
  } else {
    std::cout << "env GREETING unset\n";
  }

  auto before = std::chrono::steady_clock::now();
  long copied = copy(argv[1], argv[2]);
  std::cout << "copy " << argv[1] << " -> " << argv[2] << ": ";
  if (copied >= 0) std::cout << copied << " bytes\n";
  else std::cout << "errno " << -copied << '\n';

  auto since2020 = std::chrono::system_clock::now().time_since_epoch();
  bool clocks_ok = since2020 > std::chrono::seconds(1577836800) &&
                   std::chrono::steady_clock::now() >= before;
  std::cout << "clock " << (clocks_ok ? "ok" : "wrong") << '\n';

  // libc++'s random_device draws from getentropy, that is WASI's random_get.
  std::random_device device;
  unsigned char random[16];
  for (auto &byte : random) byte = static_cast<unsigned char>(device());
  std::cout << "random " << sizeof random << " bytes\n";

  int status = std::atoi(argv[3]);
  std::cout << "exit " << status << std::endl;
  std::exit(status);
}
