//! End-to-end tests of the `cryoprotect` binary as a user runs it.

mod alerting;
mod config;
mod db;
mod import;
mod model;
mod protocol;
mod screening;
mod serve;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_cryoprotect");

/// The binary with a clean environment: no inherited DATABASE_URL or config from the developer.
pub fn cryoprotect() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("CRYOPROTECT_LOG_FORMAT", "json")
        .current_dir(std::env::temp_dir());
    cmd
}

/// A running `cryoprotect serve`, killed on drop if still running.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Server {
    /// Start `serve` on a free port and wait for its "listening on" line.
    pub fn start(mut cmd: Command) -> Server {
        let mut child = cmd
            .args(["serve", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn cryoprotect");
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr.clone();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(90)) {
            Ok(b) => b,
            Err(_) => {
                let _ = child.kill();
                panic!("server did not start; stderr:\n{}", stderr.lock().unwrap());
            }
        };
        Server {
            child,
            base,
            stderr,
        }
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = reqwest::get(format!("{}{path}", self.base))
            .await
            .expect("request");
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// A JSON request, optionally with a bearer token; (status, body).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let client = reqwest::Client::new();
        let mut req = client.request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    /// Registers alice and gives her a model of Hydration Free Energy with one measurement per
    /// structure of `smiles` (−1, −1.7, −2.4, …); returns her token and the model's id.
    pub async fn hydration_model(&self, smiles: &[&str]) -> (String, String) {
        use serde_json::json;
        let (s, reg) = self
            .send(
                "POST",
                "/api/v1/auth/register",
                None,
                Some(json!({"email": "alice@lab.example", "password": "correct horse battery", "display_name": "alice"})),
            )
            .await;
        assert_eq!(s, 201, "{reg}");
        let token = reg["access_token"].as_str().unwrap().to_string();
        let t = Some(token.as_str());
        for (i, smiles) in smiles.iter().enumerate() {
            let (s, m) = self
                .send(
                    "POST",
                    "/api/v1/molecules",
                    t,
                    Some(json!({"smiles": smiles})),
                )
                .await;
            assert!(s == 201 || s == 200, "{m}");
            let id = m["molecule"]["id"].as_str().unwrap().to_string();
            let value = -(i as f64) * 0.7 - 1.0;
            let (s, e) = self
                .send(
                    "POST",
                    "/api/v1/experiments",
                    t,
                    Some(json!({"molecule_id": id, "property": "Hydration Free Energy", "value": value})),
                )
                .await;
            assert_eq!(s, 201, "{e}");
        }
        let (s, model) = self
            .send(
                "POST",
                "/api/v1/models",
                t,
                Some(json!({"name": "hydration", "property": "Hydration Free Energy"})),
            )
            .await;
        assert_eq!(s, 201, "{model}");
        (token, model["id"].as_str().unwrap().to_string())
    }

    /// Wait for the process to exit, up to `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn logs(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
