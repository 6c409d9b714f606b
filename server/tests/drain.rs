//! SIGTERM drains: readiness ends, no new connections are taken, a request in flight completes,
//! and the process exits 0. Runs the real `server` binary.

mod common;

use common::{free_port, wait_until};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The real binary on a free port with a fresh SQLite file: (process, address, base URL, folder).
fn start_quire(extra: &[(&str, &str)]) -> (Child, String, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .current_dir(dir.path())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/quire.db", dir.path().display()),
        )
        .env("QUIRE_LISTEN", format!("127.0.0.1:{port}"))
        .env("QUIRE_PUBLIC_URL", &base)
        .env("QUIRE_PASSWORD_LOGIN", "on")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in extra {
        command.env(k, v);
    }
    let quire = command.spawn().unwrap();
    let addr = format!("127.0.0.1:{port}");
    wait_until("Quire to listen", || TcpStream::connect(&addr).is_ok());
    (quire, addr, base, dir)
}

fn sigterm(quire: &Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &quire.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
}

/// One plain HTTP/1.1 GET on a new connection: the status line, headers and body.
fn get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

fn wait_for_exit(quire: &mut Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = quire.try_wait().unwrap() {
            return status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "Quire did not exit"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_request_in_flight_at_sigterm_completes_and_the_process_exits_cleanly() {
    let (mut quire, addr, base, _dir) = start_quire(&[]);

    // A server-function call whose body has not arrived yet: in flight.
    let mut slow = TcpStream::connect(&addr).unwrap();
    write!(
        slow,
        "POST /api/auth/me HTTP/1.1\r\nHost: {addr}\r\nOrigin: {base}\r\nSec-Fetch-Site: same-origin\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    slow.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));

    sigterm(&quire);
    wait_until("new connections to be refused", || {
        TcpStream::connect(&addr).is_err()
    });
    assert!(
        quire.try_wait().unwrap().is_none(),
        "still running while a request is in flight"
    );

    // The rest of the body arrives; the answer comes back whole.
    slow.write_all(b"a=b").unwrap();
    let mut answer = String::new();
    slow.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let status = wait_for_exit(&mut quire);
    assert!(status.success(), "exit status {status}");
}

#[test]
fn during_the_grace_period_an_instance_serves_but_is_not_ready() {
    let (mut quire, addr, _base, _dir) = start_quire(&[("QUIRE_SHUTDOWN_GRACE_SECONDS", "2")]);
    assert!(get(&addr, "/readyz").starts_with("HTTP/1.1 200"));
    let signalled = Instant::now();
    sigterm(&quire);
    wait_until("readiness to turn", || {
        get(&addr, "/readyz").starts_with("HTTP/1.1 503")
    });
    assert!(get(&addr, "/readyz").contains("shutting down"));
    assert!(
        get(&addr, "/healthz").starts_with("HTTP/1.1 200"),
        "still serving during the grace period"
    );
    wait_until("new connections to be refused", || {
        TcpStream::connect(&addr).is_err()
    });
    assert!(
        signalled.elapsed() >= Duration::from_secs(2),
        "connections were accepted for the whole grace period"
    );
    let status = wait_for_exit(&mut quire);
    assert!(status.success(), "exit status {status}");
}
