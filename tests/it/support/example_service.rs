//! The example auth service (`examples/auth-service/auth_service.py`) run with python3 on a
//! free 127.0.0.1 port; killed when dropped.

use std::fs;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::{free_port, Dir, WAIT};

/// A running example service.
pub struct ExampleService {
    pub port: u16,
    child: Child,
    dir: Dir,
}

impl ExampleService {
    /// Starts the service with a users file holding `users` (`name:hash` lines) and `extra`
    /// arguments; retries when the port was taken meanwhile.
    pub fn start(users: &str, extra: &[&str]) -> ExampleService {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/auth-service/auth_service.py");
        assert!(
            script.exists(),
            "{} is missing (it comes with the http backend)",
            script.display()
        );
        let dir = Dir::new();
        let file = dir.write("users", users);
        for _ in 0..5 {
            let port = free_port();
            let log = fs::File::create(dir.path().join("service.log")).expect("log file");
            let mut child = Command::new("python3")
                .arg(&script)
                .args([
                    "--host",
                    "127.0.0.1",
                    "--port",
                    &port.to_string(),
                    "--users",
                ])
                .arg(&file)
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot run python3 ({e}): install it with `apt-get install -y python3`")
                });
            let deadline = Instant::now() + WAIT;
            loop {
                // Its own "listening" line, not just an open port: a port chosen free can be
                // taken by another test's server before the service binds it.
                if read_log(&dir).contains("auth-service: listening on")
                    && TcpStream::connect(("127.0.0.1", port)).is_ok()
                {
                    return ExampleService { port, child, dir };
                }
                if let Ok(Some(status)) = child.try_wait() {
                    // Port taken meanwhile: try another.
                    eprintln!("auth_service.py exited ({status}):\n{}", read_log(&dir));
                    break;
                }
                assert!(Instant::now() < deadline, "auth_service.py did not listen");
                thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("auth_service.py exited at start-up (see its output above)");
    }

    /// What the service logged so far.
    pub fn log(&self) -> String {
        read_log(&self.dir)
    }
}

fn read_log(dir: &Dir) -> String {
    fs::read_to_string(dir.path().join("service.log")).unwrap_or_default()
}

impl Drop for ExampleService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
