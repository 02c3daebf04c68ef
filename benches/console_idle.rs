//! The console's CPU use when nobody touches it: the real release binary in a
//! pseudo-terminal on a demo-sized database, left alone for a while, its CPU time read
//! from /proc. Twice: with the embedded engine (the default: it polls the queue) and with
//! `--no-engine`. The target is under 1% of one core.
//!
//! `cargo bench --bench console_idle` (seconds per run: `SYNCDECK_IDLE_SECS`, default 20).
#![allow(unsafe_code)]

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

fn open_pty(cols: u16, rows: u16) -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut master: libc::c_int = -1;
    let mut slave: libc::c_int = -1;
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two fds into the provided integers; name and termios may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &ws,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both fds were just opened by openpty and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) })
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it are plain.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

fn measure(label: &str, extra: &[&str], secs: u64) -> Result<f64, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let p = |name: &str| dir.path().join(name);
    let bin = env!("CARGO_BIN_EXE_syncdeck");
    let db = format!("sqlite://{}", p("idle.db").display());
    let env = |c: &mut Command| {
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", p("config"))
            .env("XDG_DATA_HOME", p("share"))
            .env("XDG_STATE_HOME", p("state"))
            .env("USER", "bench")
            .env("TERM", "xterm-256color")
            .env("SYNCDECK_ENCRYPTION_KEY", KEY)
            .arg("--database")
            .arg(&db);
    };
    // A database with the demo's integrations (pointed at a closed port), so the screens
    // have rows to show and the engine has schedules to watch.
    std::fs::write(p("demo-api-key.txt"), "sd_demo_key_4f9c2a7e81b3").map_err(|e| e.to_string())?;
    std::fs::write(p("demo-bearer-token.txt"), "sd_demo_token_7d1e5b09c6a4")
        .map_err(|e| e.to_string())?;
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
    for entry in std::fs::read_dir(&demo).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        let copy = dir.path().join(path.file_name().unwrap_or_default());
        std::fs::write(&copy, text.replace("{{BASE_URL}}", "http://127.0.0.1:9"))
            .map_err(|e| e.to_string())?;
        let mut c = Command::new(bin);
        env(&mut c);
        c.arg("integration")
            .arg("import")
            .arg(&copy)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _ = c.status();
    }
    let (master, slave) = open_pty(80, 24).map_err(|e| e.to_string())?;
    let mut c = Command::new(bin);
    env(&mut c);
    c.args(extra);
    let (i, o, e) = (
        slave.try_clone().map_err(|e| e.to_string())?,
        slave.try_clone().map_err(|e| e.to_string())?,
        slave,
    );
    c.stdin(Stdio::from(i))
        .stdout(Stdio::from(o))
        .stderr(Stdio::from(e));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        c.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = c.spawn().map_err(|e| e.to_string())?;
    drop(c);
    // Keep reading the terminal so the console never blocks on a full pty.
    let mut reader = File::from(master.try_clone().map_err(|e| e.to_string())?);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
        }
    });
    // Let it start, load its first screen and settle; then measure.
    std::thread::sleep(Duration::from_secs(3));
    let pid = child.id();
    let before = cpu_ticks(pid).ok_or("the console is not running")?;
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let after = cpu_ticks(pid).ok_or("the console exited while idle")?;
    let wall = start.elapsed().as_secs_f64();
    let cpu = (after - before) as f64 / ticks_per_second();
    let percent = 100.0 * cpu / wall;
    println!("{label:<32} {cpu:6.2} s CPU in {wall:5.1} s = {percent:5.2}% of one core");
    let _ = child.kill();
    let _ = child.wait();
    let _ = master.as_raw_fd();
    Ok(percent)
}

/// The allocator of the syncdeck binary, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let secs = std::env::var("SYNCDECK_IDLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    // `cargo bench` passes `--bench`; nothing else is taken from the command line.
    for (label, extra) in [
        ("console, embedded engine", &[][..]),
        ("console, --no-engine", &["--no-engine"][..]),
    ] {
        if let Err(e) = measure(label, extra, secs) {
            eprintln!("{label}: {e}");
            std::process::exit(1);
        }
    }
}
