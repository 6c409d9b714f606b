//! SIGTERM drains: readiness ends, no new connections are taken, a request in flight completes,
//! and the process exits 0. Runs the real `server` binary.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "waited too long for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_request_in_flight_at_sigterm_completes_and_the_process_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut quire = Command::new(env!("CARGO_BIN_EXE_server"))
        .current_dir(dir.path())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/quire.db", dir.path().display()),
        )
        .env("QUIRE_LISTEN", format!("127.0.0.1:{port}"))
        .env("QUIRE_PUBLIC_URL", &base)
        .env("QUIRE_PASSWORD_LOGIN", "on")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr = format!("127.0.0.1:{port}");
    wait_until("Quire to listen", || TcpStream::connect(&addr).is_ok());

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

    let killed = Command::new("kill")
        .args(["-TERM", &quire.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
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

    let start = Instant::now();
    let status = loop {
        if let Some(status) = quire.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "Quire did not exit"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status}");
}
