//! The WASI example in Rust (std on wasm32-wasi): every language's wasi_app prints the same
//! lines for the same arguments.
//!   wasi_app SRC DST STATUS [ARG...]
//! copies SRC to DST (paths beneath preopened directories), echoes its arguments and the
//! variable GREETING, checks the clocks, draws random bytes and exits with STATUS.
use std::env;
use std::fs::File;
use std::io;
use std::process;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn copy(from: &str, to: &str) -> io::Result<u64> {
    let mut input = File::open(from)?;
    let mut output = File::create(to)?;
    io::copy(&mut input, &mut output)
}

// std has no public random source; WASI's is one import away.
#[link(wasm_import_module = "wasi_snapshot_preview1")]
extern "C" {
    fn random_get(buf: *mut u8, len: usize) -> u16;
}

/// Fills `out` with random bytes, or returns the WASI errno.
fn random_bytes(out: &mut [u8]) -> Result<(), u16> {
    match unsafe { random_get(out.as_mut_ptr(), out.len()) } {
        0 => Ok(()),
        errno => Err(errno),
    }
}

fn main() {
    let args: Vec<String> = env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: wasi_app SRC DST STATUS [ARG...]");
        process::exit(2);
    }
    println!("argc {}", args.len());
    for (i, arg) in args.iter().enumerate().skip(1) {
        println!("argv[{}] {}", i, arg);
    }
    match env::var("GREETING") {
        Ok(greeting) => println!("env GREETING={}", greeting),
        Err(_) => println!("env GREETING unset"),
    }

    let before = Instant::now();
    match copy(&args[1], &args[2]) {
        Ok(n) => println!("copy {} -> {}: {} bytes", args[1], args[2], n),
        Err(e) => println!("copy {} -> {}: errno {}", args[1], args[2], e.raw_os_error().unwrap_or(-1)),
    }

    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let clocks_ok = since_epoch > Duration::from_secs(1577836800) && Instant::now() >= before;
    println!("clock {}", if clocks_ok { "ok" } else { "wrong" });

    let mut random = [0u8; 16];
    match random_bytes(&mut random) {
        Ok(()) => println!("random {} bytes", random.len()),
        Err(errno) => println!("random errno {}", errno),
    }

    let status: i32 = args[3].parse().unwrap_or(0);
    println!("exit {}", status);
    process::exit(status);
}
