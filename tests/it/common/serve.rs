//! A small HTTP/1.1 server on 127.0.0.1 for the tests that fetch: it answers each path
//! as told, can be changed while it runs, and counts the connections it accepts.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server answers on one path.
#[derive(Clone)]
pub(crate) enum Answer {
    /// `200` with this body.
    Body(Vec<u8>),
    /// These bytes as the whole response.
    Raw(Vec<u8>),
    /// Nothing, for longer than any fetch timeout of these tests; then close.
    Silence,
    /// `200` with this body once the gate is opened.
    Gated(Arc<Gate>, Vec<u8>),
}

/// Holds answers until opened.
#[derive(Default)]
pub(crate) struct Gate {
    open: Mutex<bool>,
    opened: std::sync::Condvar,
}

impl Gate {
    pub(crate) fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }

    fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
    }
}

/// A small HTTP/1.1 server on 127.0.0.1 that answers each path as told and counts the
/// connections it accepts. Stopped when dropped.
pub(crate) struct Server {
    pub(crate) port: u16,
    accepts: Arc<AtomicUsize>,
    answers: Arc<Mutex<HashMap<String, Answer>>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    pub(crate) fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepts = Arc::new(AtomicUsize::new(0));
        let answers: Arc<Mutex<HashMap<String, Answer>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (a, m, s) = (accepts.clone(), answers.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                a.fetch_add(1, Ordering::SeqCst);
                let m = m.clone();
                std::thread::spawn(move || answer(conn, &m));
            }
        });
        Self { port, accepts, answers, stop }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub(crate) fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub(crate) fn set(&self, path: &str, answer: Answer) {
        self.answers.lock().unwrap().insert(path.to_owned(), answer);
    }

    pub(crate) fn accepts(&self) -> usize {
        self.accepts.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn answer(mut conn: TcpStream, answers: &Mutex<HashMap<String, Answer>>) {
    let mut head = Vec::new();
    let mut b = [0u8; 1024];
    while !head.ends_with(b"\r\n\r\n") {
        match conn.read(&mut b) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&b[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
    let found = answers.lock().unwrap().get(&path).cloned();
    let bytes = match found {
        Some(Answer::Gated(gate, body)) => {
            gate.wait();
            ok(&body)
        }
        Some(Answer::Body(body)) => ok(&body),
        Some(Answer::Raw(raw)) => raw,
        Some(Answer::Silence) => {
            std::thread::sleep(Duration::from_secs(5));
            return;
        }
        None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
    };
    let _ = conn.write_all(&bytes);
}

fn ok(body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-cert\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}
