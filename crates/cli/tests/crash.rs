//! Kill the server with SIGKILL in the middle of concurrent intake: after a restart, every case
//! that was acknowledged with a 2xx is there with its events, and no case is half written.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::{Value, json};

const PASSWORD: &str = "crash-test-password";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `wangge demo` on its data folder: builds the demo county the first time, then serves it.
fn start(dir: &Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_wangge"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--bind")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--log")
        .arg("warn")
        .arg("demo")
        .env("WANGGE_DEMO_PASSWORD", PASSWORD)
        .env_remove("WANGGE_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("wangge starts")
}

async fn wait_ready(client: &Client, base: &str) {
    let start = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/api/v1/health")).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "the server did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Signs in as the county administrator: (cookie, csrf token).
async fn sign_in(client: &Client, base: &str) -> (String, String) {
    let resp = client
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"login": "county-350322", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let body: Value = resp.json().await.unwrap();
    (cookie, body["csrf_token"].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_cases_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = Client::new();
    let mut server = start(dir.path(), port);
    wait_ready(&client, &base).await;
    let (cookie, csrf) = sign_in(&client, &base).await;
    let households: Value = client
        .get(format!("{base}/api/v1/households?page_size=50"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let codes: Vec<String> =
        households["items"].as_array().unwrap().iter().map(|h| h["code"].as_str().unwrap().to_string()).collect();

    // Sixteen clients take calls until the server dies under them.
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicUsize::new(0));
    let mut tasks = vec![];
    for i in 0..16 {
        let (client, base, cookie, csrf, stop) =
            (client.clone(), base.clone(), cookie.clone(), csrf.clone(), stop.clone());
        let count = count.clone();
        let code = codes[i % codes.len()].clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = vec![];
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body = json!({"category": "parking", "channel": "hotline", "description": format!("crash test {i}-{n}"),
                    "reporter": {"kind": "anonymous"}, "household_code": code});
                let sent = client
                    .post(format!("{base}/api/v1/cases"))
                    .header("cookie", &cookie)
                    .header("x-csrf-token", &csrf)
                    .json(&body)
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => {
                        // Acknowledged once the body has arrived in full.
                        if let Ok(v) = r.json::<Value>().await {
                            acked.push(v["case"]["id"].as_i64().expect("a case id"));
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(r) => panic!("intake refused: {} {}", r.status(), r.text().await.unwrap_or_default()),
                    Err(_) => break,
                }
            }
            acked
        }));
    }
    // Kill it in full flow: once some cases are in, with every client still sending.
    let began = Instant::now();
    while count.load(Ordering::Relaxed) < 40 {
        assert!(began.elapsed() < Duration::from_secs(120), "intake is stuck");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill().expect("SIGKILL"); // Child::kill is SIGKILL on Unix.
    server.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    let mut acked = vec![];
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert!(acked.len() >= 40);

    // After a restart every acknowledged case is there, with its intake event.
    let mut server = start(dir.path(), port);
    wait_ready(&client, &base).await;
    let (cookie, _) = sign_in(&client, &base).await;
    for id in &acked {
        let r = client.get(format!("{base}/api/v1/cases/{id}/events")).header("cookie", &cookie).send().await.unwrap();
        assert!(r.status().is_success(), "case {id} was acknowledged but is gone");
        let events: Value = r.json().await.unwrap();
        assert_eq!(events[0]["kind"], "intake", "case {id} has its intake event");
    }
    server.kill().unwrap();
    server.wait().unwrap();

    // No half-written case: every case has its events and its reporter.
    let db = dir.path().join("demo-1.db");
    let url = format!("sqlite://{}", db.display());
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let bare: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id) \
         OR NOT EXISTS (SELECT 1 FROM case_reporters r WHERE r.case_id = c.id) OR c.number LIKE 'pending-%'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(bare, 0, "half-written cases after the crash");
    eprintln!("{} cases acknowledged before SIGKILL, all found after the restart", acked.len());
}
