//! The real binary in a pseudo-terminal: it opens the console on a seeded database,
//! shows the integration, quits on `:q`, exits 0 and leaves the terminal as it found it.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const NAME: &str = "smoke-crm";
const DEADLINE: Duration = Duration::from_secs(20);

fn winsize(cols: u16, rows: u16) -> libc::winsize {
    libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

/// (master, slave) of a new pseudo-terminal of `cols`×`rows`.
fn open_pty(cols: u16, rows: u16) -> (OwnedFd, OwnedFd) {
    let mut master: libc::c_int = -1;
    let mut slave: libc::c_int = -1;
    let ws = winsize(cols, rows);
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
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both fds were just opened by openpty and are owned by nobody else.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    // Set the size explicitly too, as a terminal emulator would.
    // SAFETY: TIOCSWINSZ reads a winsize from the pointer, which outlives the call.
    let rc = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    assert_eq!(rc, 0, "TIOCSWINSZ: {}", std::io::Error::last_os_error());
    (master, slave)
}

fn termios(fd: &OwnedFd) -> libc::termios {
    // SAFETY: termios is plain data; tcgetattr fills it.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: fd is an open terminal and `t` is a valid termios to write.
    let rc = unsafe { libc::tcgetattr(fd.as_raw_fd(), &mut t) };
    assert_eq!(rc, 0, "tcgetattr: {}", std::io::Error::last_os_error());
    t
}

fn cooked(t: &libc::termios) -> bool {
    t.c_lflag & libc::ICANON != 0 && t.c_lflag & libc::ECHO != 0
}

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn cmd(&self) -> Command {
        let p = |name: &str| self.dir.path().join(name);
        let mut c = Command::new(env!("CARGO_BIN_EXE_syncdeck"));
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", p("config"))
            .env("XDG_DATA_HOME", p("share"))
            .env("XDG_STATE_HOME", p("state"))
            .env("USER", "tester")
            .env("TERM", "xterm-256color")
            .env("SYNCDECK_ENCRYPTION_KEY", KEY)
            .arg("--database")
            .arg(format!("sqlite://{}", p("x.db").display()));
        c
    }
}

/// Reads the master side on a thread until it fails (the child is gone and no slave
/// fd is open) and collects everything.
fn drain(master: &OwnedFd) -> Arc<Mutex<Vec<u8>>> {
    let out = Arc::new(Mutex::new(Vec::new()));
    let mut file = File::from(master.try_clone().unwrap());
    let sink = Arc::clone(&out);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match file.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => sink.lock().unwrap().extend_from_slice(&buf[..n]),
            }
        }
    });
    out
}

fn wait_for(out: &Arc<Mutex<Vec<u8>>>, what: &[u8], child: &mut Child) {
    let start = Instant::now();
    loop {
        if find(&out.lock().unwrap(), what, 0).is_some() {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the console exited ({status}) before showing {:?}; output:\n{}",
                String::from_utf8_lossy(what),
                String::from_utf8_lossy(&out.lock().unwrap())
            );
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!(
                "no {:?} within {DEADLINE:?}; output:\n{}",
                String::from_utf8_lossy(what),
                String::from_utf8_lossy(&out.lock().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// A sandbox with one integration imported through the CLI.
fn seeded() -> Sandbox {
    let sb = Sandbox {
        dir: tempfile::tempdir().unwrap(),
    };
    let file = sb.dir.path().join("smoke.toml");
    std::fs::write(
        &file,
        format!(
            r#"name = "{NAME}"
type = "rest_api"
[connection]
base_url = "http://127.0.0.1:9/api"
[connection.auth]
kind = "none"
[source]
entity = "contacts"
path = "/contacts"
records = "$.items[*]"
[source.pagination]
kind = "none"
"#
        ),
    )
    .unwrap();
    let import = sb
        .cmd()
        .args(["integration", "import"])
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        import.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&import.stderr)
    );
    sb
}

struct Running {
    child: Child,
    master: OwnedFd,
    slave: OwnedFd,
    out: Arc<Mutex<Vec<u8>>>,
}

/// Starts the console on an 80×24 pty and waits until it shows the integration.
fn start(sb: &Sandbox) -> Running {
    let (master, slave) = open_pty(80, 24);
    assert!(cooked(&termios(&slave)), "a new pty starts in cooked mode");
    let mut cmd = sb.cmd();
    cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave.try_clone().unwrap()));
    // SAFETY: only async-signal-safe calls between fork and exec: a new session, and the
    // pty (already the child's stdin) becomes its controlling terminal.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let out = drain(&master);
    wait_for(&out, NAME.as_bytes(), &mut child);
    Running {
        child,
        master,
        slave,
        out,
    }
}

impl Running {
    fn output(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if start.elapsed() > DEADLINE {
                let _ = self.child.kill();
                panic!("the console did not exit; output:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The terminal is as it was: cooked mode, main screen, cursor shown.
    fn assert_restored(&self) {
        // The child wrote its last bytes before exiting; wait for the reader to see them.
        wait_for_leave(&self.out);
        assert!(
            cooked(&termios(&self.slave)),
            "ICANON and ECHO are set again after exit"
        );
        let bytes = self.out.lock().unwrap().clone();
        let enter = find(&bytes, b"\x1b[?1049h", 0).expect("entered the alternate screen");
        let leave = find(&bytes, b"\x1b[?1049l", enter)
            .expect("left the alternate screen after entering it");
        assert!(leave > enter);
        assert!(
            find(&bytes, b"\x1b[?25h", leave).is_some(),
            "cursor shown again"
        );
    }
}

#[test]
fn the_console_shows_the_list_quits_on_colon_q_and_restores_the_terminal() {
    let sb = seeded();
    let mut console = start(&sb);
    let mut input = File::from(console.master.try_clone().unwrap());
    input.write_all(b":q\r").unwrap();
    input.flush().unwrap();
    let status = console.wait_exit();
    assert!(
        status.success(),
        "exit status {status}; output:\n{}",
        console.output()
    );
    console.assert_restored();
}

#[test]
fn sigterm_and_sighup_restore_the_terminal() {
    let sb = seeded();
    for (signal, code) in [(libc::SIGTERM, 143), (libc::SIGHUP, 129)] {
        let mut console = start(&sb);
        let pid = libc::pid_t::try_from(console.child.id()).unwrap();
        // SAFETY: sends a signal to our own child process.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        let status = console.wait_exit();
        assert_eq!(
            status.code(),
            Some(code),
            "signal {signal}; output:\n{}",
            console.output()
        );
        console.assert_restored();
    }
}

#[test]
fn a_bad_key_override_stops_the_console_before_it_starts() {
    let sb = seeded();
    let config = sb.dir.path().join("config/syncdeck/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "[tui.keys]\nquitt = \"ctrl-q\"\n").unwrap();
    let out = sb.cmd().stdin(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tui.keys.quitt in the config: unknown action"),
        "{err}"
    );
    std::fs::write(&config, "[tui.keys]\nquit = \"ctrl-\"\n").unwrap();
    let out = sb.cmd().stdin(Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tui.keys.quit") && err.contains("\"ctrl-\""),
        "{err}"
    );
}

#[test]
fn without_a_terminal_the_console_says_so() {
    let sb = seeded();
    let out = sb.cmd().stdin(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the console needs a terminal"), "{err}");
}

fn wait_for_leave(out: &Arc<Mutex<Vec<u8>>>) {
    let start = Instant::now();
    while find(&out.lock().unwrap(), b"\x1b[?1049l", 0).is_none() {
        if start.elapsed() > DEADLINE {
            panic!(
                "never left the alternate screen; output:\n{}",
                String::from_utf8_lossy(&out.lock().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What the terminal shows now: every byte the console wrote, replayed on a vt100 screen.
fn screen(out: &Arc<Mutex<Vec<u8>>>, cols: u16, rows: u16) -> String {
    let size = |n: u16| std::num::NonZeroU16::new(n.max(1)).unwrap();
    let mut parser = vt100::Parser::new(size(rows), size(cols), 0);
    parser.process(&out.lock().unwrap());
    parser.screen().contents()
}

impl Running {
    fn send(&self, bytes: &[u8]) {
        let mut input = File::from(self.master.try_clone().unwrap());
        input.write_all(bytes).unwrap();
        input.flush().unwrap();
        // One key at a time, as a person types: the console reads them as separate keys.
        std::thread::sleep(Duration::from_millis(30));
    }

    fn type_text(&self, text: &str) {
        for c in text.chars() {
            let mut buf = [0u8; 4];
            self.send(c.encode_utf8(&mut buf).as_bytes());
        }
    }

    /// Whether the 80×24 screen shows `what` within `wait`.
    fn shows_within(&self, what: &str, wait: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < wait {
            if screen(&self.out, 80, 24).contains(what) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        false
    }

    /// Waits until the 80×24 screen shows `what`.
    fn wait_screen(&mut self, what: &str) -> String {
        let start = Instant::now();
        loop {
            let now = screen(&self.out, 80, 24);
            if now.contains(what) {
                return now;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the console exited ({status}) before showing {what:?}; screen:\n{now}");
            }
            if start.elapsed() > DEADLINE {
                let _ = self.child.kill();
                panic!("no {what:?} within {DEADLINE:?}; screen:\n{now}");
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }
}

const TAB: &[u8] = b"\t";
const ENTER: &[u8] = b"\r";
const RIGHT: &[u8] = b"\x1b[C";
const CTRL_T: &[u8] = b"\x14";
const CTRL_U: &[u8] = b"\x15";
const ESC: &[u8] = b"\x1b";
const HOME: &[u8] = b"\x1b[H";
const DOWN: &[u8] = b"\x1b[B";
const UP: &[u8] = b"\x1b[A";

#[test]
fn a_person_creates_an_integration_and_maps_it_in_a_terminal() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = rt
        .block_on(syncdeck::demo::SampleApi::start(
            syncdeck::demo::SampleApiOptions {
                rate_limit: 0,
                change_every: None,
                ..syncdeck::demo::SampleApiOptions::default()
            },
        ))
        .unwrap();
    let sb = seeded();
    let mut c = start(&sb);

    // Type: REST API is the first entry.
    c.send(b"n");
    c.wait_screen("What do you want to connect?");
    c.send(ENTER);
    c.wait_screen("Base URL");
    // Connection: name, environment, base URL, authentication, where the key goes, key
    // header, secret, timeout, headers, rate limit, path.
    c.type_text("Terminal contacts");
    c.send(TAB);
    c.send(TAB);
    c.type_text(&api.url());
    c.send(TAB);
    c.send(RIGHT);
    c.wait_screen("api_key");
    c.send(TAB);
    c.send(TAB);
    c.type_text("X-Api-Key");
    c.send(TAB);
    c.type_text(&api.api_key);
    let shown = c.wait_screen("••••");
    assert!(
        !shown.contains(&api.api_key),
        "the secret is masked:\n{shown}"
    );
    for _ in 0..4 {
        c.send(TAB);
    }
    c.type_text("/crm/contacts");
    c.send(CTRL_T);
    c.wait_screen("connection ok in");
    // Fields: entity, records path, then the target type.
    c.send(ENTER);
    c.wait_screen("Records (JSONPath)");
    c.send(CTRL_U);
    c.type_text("contacts");
    c.send(TAB);
    c.send(CTRL_U);
    c.type_text("$.results[*]");
    c.send(CTRL_T);
    c.wait_screen("address.city");
    // Pagination and the incremental cursor stay as they are.
    for _ in 0..3 {
        c.send(TAB);
    }
    for _ in 0..8 {
        if screen(&c.out, 80, 24).contains("‹ contact ›") {
            break;
        }
        c.send(RIGHT);
    }
    c.wait_screen("‹ contact ›");
    // Review, then save: back on the list with the new integration.
    c.send(ENTER);
    let review = c.wait_screen("Enter saves it");
    assert!(!review.contains(&api.api_key), "{review}");
    c.send(ENTER);
    c.wait_screen("created Terminal contacts");

    // The mapper of the new integration: samples from the API, mapped in the preview.
    // The list reloads after the save; a key that lands while it does finds no row, so
    // press again as a person would if nothing happened.
    for _ in 0..10 {
        c.send(b"m");
        if c.shows_within("Source fields", Duration::from_secs(2)) {
            break;
        }
    }
    c.wait_screen("Preview · 5 samples");
    // Open the rule of full_name (unmapped so far) and make it a composite template.
    c.send(HOME);
    let mut found = false;
    for _ in 0..16 {
        c.send(ENTER);
        let now = c.wait_screen("Rule · ");
        if now.contains("Rule · full_name") {
            found = true;
            break;
        }
        c.send(ESC);
        c.wait_screen("Target fields");
        c.send(DOWN);
    }
    assert!(found, "no full_name target:\n{}", screen(&c.out, 80, 24));
    // Up to the type row, then ←→ through the mapping types.
    for _ in 0..5 {
        c.send(UP);
    }
    for _ in 0..8 {
        if screen(&c.out, 80, 24).contains("◂ composite ▸") {
            break;
        }
        c.send(RIGHT);
        // Let the console draw the new type before looking again.
        std::thread::sleep(Duration::from_millis(250));
    }
    c.wait_screen("◂ composite ▸");
    c.send(DOWN);
    c.send(DOWN);
    c.type_text("${first_name} ${last_name}");
    c.send(ESC);
    // The preview maps the samples with the new rule.
    let mapped = c.wait_screen("full_name: \"");
    assert!(!mapped.contains("full_name: null"), "{mapped}");
    // Record settings: delete records a full run does not see.
    c.send(b"r");
    c.wait_screen("Record settings");
    for _ in 0..3 {
        c.send(DOWN);
    }
    c.send(b" ");
    c.wait_screen("[x] delete records a full run did not see");
    c.send(ESC);
    c.wait_screen("Target fields");
    c.send(b"s");
    c.wait_screen("saved the schema of Terminal contacts");
    c.send(ESC);
    c.wait_screen("Integrations [");
    c.send(b":q\r");
    let status = c.wait_exit();
    assert!(status.success(), "exit status {status}");
    c.assert_restored();

    // The store has it, with its key sealed.
    let out = sb
        .cmd()
        .args(["integration", "show", "Terminal contacts"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("/crm/contacts"), "{text}");
    assert!(!text.contains(&api.api_key), "{text}");
    let out = sb
        .cmd()
        .args(["integration", "export", "Terminal contacts"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("${first_name} ${last_name}"),
        "the mapper's rule was saved:\n{text}"
    );
    assert!(
        text.contains("deleteIfRemoved = true"),
        "the record settings were saved with it:\n{text}"
    );
    rt.block_on(api.shutdown());
}
