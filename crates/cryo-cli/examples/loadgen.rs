//! A small HTTP load generator for the benchmarks: `concurrency` clients send the same JSON
//! POST back to back for `seconds` and the latency distribution is printed as JSON.
//!
//! Usage: loadgen URL TOKEN BODY_FILE CONCURRENCY SECONDS

use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 6 {
        eprintln!("usage: loadgen URL TOKEN BODY_FILE CONCURRENCY SECONDS");
        std::process::exit(2);
    }
    let (url, token) = (args[1].clone(), args[2].clone());
    let body = std::fs::read_to_string(&args[3]).expect("body file");
    let concurrency: usize = args[4].parse().expect("concurrency");
    let seconds: f64 = args[5].parse().expect("seconds");
    let client = reqwest::Client::new();
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, url, token, body) =
                (client.clone(), url.clone(), token.clone(), body.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failures = 0usize;
                while Instant::now() < until {
                    let t = Instant::now();
                    let r = client
                        .post(&url)
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await;
                    let ok = match r {
                        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    if ok {
                        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                    } else {
                        failures += 1;
                    }
                }
                (latencies, failures)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (l, f) = t.await.expect("client task");
        all.extend(l);
        failures += f;
    }
    let wall = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        if all.is_empty() {
            f64::NAN
        } else {
            all[((all.len() as f64 - 1.0) * p).round() as usize]
        }
    };
    println!(
        "{}",
        serde_json::json!({
            "requests": all.len(),
            "failures": failures,
            "concurrency": concurrency,
            "seconds": wall,
            "requests_per_second": all.len() as f64 / wall,
            "p50_ms": pct(0.5),
            "p90_ms": pct(0.9),
            "p99_ms": pct(0.99),
            "max_ms": all.last().copied().unwrap_or(f64::NAN),
        })
    );
}
