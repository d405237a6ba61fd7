//! A small WebDriver client over HTTP for Debian's chromedriver, enough for the browser tests:
//! sessions, navigation, elements, typing, scripts, screenshots and the network log.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A running chromedriver, stopped on drop.
pub struct Driver {
    child: Child,
    pub base: String,
    client: Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Driver {
    pub async fn start() -> Driver {
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let client = Client::new();
        let start = Instant::now();
        loop {
            if let Ok(r) = client.get(format!("{base}/status")).send().await
                && let Ok(v) = r.json::<Value>().await
                && v["value"]["ready"] == json!(true)
            {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "chromedriver did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Driver { child, base, client }
    }

    /// A new headless browser with a window of `width` x `height`, whose every request to a host
    /// other than the test server's fails (and is seen in the network log).
    pub async fn session(&self, width: u32, height: u32) -> Browser {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-extensions", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--lang=zh-CN",
                    format!("--window-size={width},{height}"),
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",
                ],
                "prefs": {"intl.accept_languages": "zh-CN,zh"}
            },
            "goog:loggingPrefs": {"performance": "ALL"}
        }}});
        let r: Value =
            self.client.post(format!("{}/session", self.base)).json(&caps).send().await.unwrap().json().await.unwrap();
        let id = r["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no browser session: {r}")).to_string();
        Browser { client: self.client.clone(), url: format!("{}/session/{id}", self.base) }
    }
}

/// One browser session.
pub struct Browser {
    client: Client,
    url: String,
}

#[derive(Clone, Debug)]
pub struct Element(String);

impl Browser {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.client.request(method, format!("{}{path}", self.url));
        if let Some(b) = body {
            req = req.json(&b);
        } else {
            req = req.json(&json!({}));
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        v["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let v = self.call(reqwest::Method::POST, path, Some(body)).await;
        if let Some(err) = v.get("error") {
            panic!("webdriver {path}: {err} {}", v["message"]);
        }
        v
    }

    async fn get(&self, path: &str) -> Value {
        self.client.get(format!("{}{path}", self.url)).send().await.unwrap().json::<Value>().await.unwrap()["value"]
            .clone()
    }

    pub async fn quit(self) {
        let _ = self.client.delete(&self.url).send().await;
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({"url": url})).await;
    }

    pub async fn current_url(&self) -> String {
        self.get("/url").await.as_str().unwrap_or_default().to_string()
    }

    pub async fn title(&self) -> String {
        self.get("/title").await.as_str().unwrap_or_default().to_string()
    }

    /// The first element matching `css`, waiting up to five seconds for it.
    pub async fn find(&self, css: &str) -> Element {
        let start = Instant::now();
        loop {
            if let Some(e) = self.try_find(css).await {
                return e;
            }
            if start.elapsed() > Duration::from_secs(5) {
                let url = self.current_url().await;
                panic!("no element {css:?} on {url}:\n{}", self.text("body").await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn try_find(&self, css: &str) -> Option<Element> {
        let v =
            self.call(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        v.get(ELEMENT).and_then(Value::as_str).map(|s| Element(s.to_string()))
    }

    /// The link whose text contains `text`.
    pub async fn find_link(&self, text: &str) -> Element {
        let v = self.post("/element", json!({"using": "partial link text", "value": text})).await;
        Element(v[ELEMENT].as_str().expect("an element").to_string())
    }

    pub async fn click(&self, e: &Element) {
        self.post(&format!("/element/{}/click", e.0), json!({})).await;
    }

    pub async fn clear(&self, e: &Element) {
        self.post(&format!("/element/{}/clear", e.0), json!({})).await;
    }

    pub async fn type_into(&self, e: &Element, text: &str) {
        self.post(&format!("/element/{}/value", e.0), json!({"text": text})).await;
    }

    /// Clears a field and types into it.
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.clear(&e).await;
        self.type_into(&e, text).await;
    }

    pub async fn click_css(&self, css: &str) {
        let e = self.find(css).await;
        self.click(&e).await;
    }

    /// Clicks what leads to another page, and waits until that page has loaded.
    pub async fn click_and_load(&self, e: &Element) {
        self.script("window.__leaving = true; return 0").await;
        self.click(e).await;
        let start = Instant::now();
        loop {
            let v = self.script("return window.__leaving === undefined && document.readyState === 'complete'").await;
            if v == json!(true) {
                return;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "no new page after a click");
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }

    /// Clicks the element matching `css` and waits for the next page.
    pub async fn follow(&self, css: &str) {
        let e = self.find(css).await;
        self.click_and_load(&e).await;
    }

    pub async fn text(&self, css: &str) -> String {
        match self.try_find(css).await {
            Some(e) => self.get(&format!("/element/{}/text", e.0)).await.as_str().unwrap_or_default().to_string(),
            None => String::new(),
        }
    }

    pub async fn script(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": []})).await
    }

    pub async fn screenshot(&self, path: &std::path::Path) {
        let v = self.get("/screenshot").await;
        let png = decode_base64(v.as_str().expect("a screenshot"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Every URL the browser asked for since the last call, from Chromium's network log.
    pub async fn requested_urls(&self) -> Vec<String> {
        let v = self.post("/se/log", json!({"type": "performance"})).await;
        let mut urls = vec![];
        for entry in v.as_array().into_iter().flatten() {
            let Some(msg) = entry["message"].as_str() else { continue };
            let Ok(m) = serde_json::from_str::<Value>(msg) else { continue };
            if m["message"]["method"] == "Network.requestWillBeSent"
                && let Some(u) = m["message"]["params"]["request"]["url"].as_str()
            {
                urls.push(u.to_string());
            }
        }
        urls
    }

    /// Bytes of the page and every resource it loaded (bodies as sent, cached or not), the
    /// weight of a first load.
    pub async fn page_weight(&self) -> u64 {
        let v = self
            .script(
                "const n = performance.getEntriesByType('navigation')[0];\
                 let t = n ? n.encodedBodySize : 0;\
                 for (const r of performance.getEntriesByType('resource')) t += r.encodedBodySize;\
                 return t;",
            )
            .await;
        v.as_u64().expect("a byte count")
    }
}

fn decode_base64(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    out
}
