//! Open311 GeoReport v2 conformance through real HTTP on the demo county: every rule of the
//! profile's cross-cutting table and MUST list in both formats, each JSON response checked
//! against the JSON Schemas in `tests/open311-schemas/` (written from the spec) and each XML
//! response parsed and compared element by element with its JSON twin; a case posted through
//! Open311 reaching its owner's queue; and bad input refused with one error per problem.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wangge_core::{Caller, PostKind};
use wangge_store::clock::FakeClock;
use wangge_store::{NewAccount, NewPost};

use crate::TestApp;

crate::on_both_engines!(
    discovery_and_services_follow_the_spec,
    requests_are_posted_and_read_back,
    searches_follow_the_window_cap_and_paging_rules,
    bad_input_gets_one_error_per_problem,
    an_open311_case_reaches_its_owner_and_its_updates_show,
);

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9ccx\xf0\xf0\xff\x1f\0\x05\x06\x02\xff\xa0\xa6\xc8\x1b\0\0\0\0IEND\xaeB`\x82";

fn at(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, 0, 0).unwrap()
}

// ----- the wire -----

pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        assert_eq!(self.content_type, "application/json; charset=utf-8", "{}", self.body);
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn xml(&self) -> El {
        assert_eq!(self.content_type, "text/xml; charset=utf-8", "{}", self.body);
        assert!(self.body.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"), "{}", self.body);
        parse_xml(&self.body)
    }
}

pub enum Body {
    Form(Vec<(String, String)>),
    /// Fields and files (name, filename, content type, bytes).
    Multipart(Vec<(String, String)>, Vec<(String, String, String, Vec<u8>)>),
}

pub fn form(pairs: &[(&str, &str)]) -> Body {
    Body::Form(pairs.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect())
}

pub async fn send(app: &TestApp, method: Method, path: &str, body: Option<Body>) -> Reply {
    let mut req = app.client.request(method, format!("{}{path}", app.base));
    match body {
        Some(Body::Form(pairs)) => {
            let mut s = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &pairs {
                s.append_pair(k, v);
            }
            req = req.header("content-type", "application/x-www-form-urlencoded; charset=utf-8").body(s.finish());
        }
        Some(Body::Multipart(fields, files)) => {
            let boundary = "----wangge0pen311";
            let mut b = Vec::new();
            for (k, v) in fields {
                b.extend(
                    format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").bytes(),
                );
            }
            for (k, name, ty, data) in files {
                b.extend(
                    format!(
                        "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{name}\"\r\nContent-Type: {ty}\r\n\r\n"
                    )
                    .bytes(),
                );
                b.extend(data);
                b.extend(b"\r\n");
            }
            b.extend(format!("--{boundary}--\r\n").bytes());
            req = req.header("content-type", format!("multipart/form-data; boundary={boundary}")).body(b);
        }
        None => {}
    }
    let resp = req.send().await.expect("the server answers");
    let status = resp.status();
    let content_type = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    Reply { status, content_type, body: resp.text().await.unwrap() }
}

pub async fn get(app: &TestApp, path: &str) -> Reply {
    send(app, Method::GET, path, None).await
}

/// GETs `{path}.json` and `{path}.xml` (the query after), checks the JSON against the schema
/// and the XML against the JSON, and returns the status and JSON.
pub async fn both(app: &TestApp, path: &str, query: &str, schema: &str, root: &str) -> (StatusCode, Value) {
    let j = get(app, &format!("{path}.json{query}")).await;
    let x = get(app, &format!("{path}.xml{query}")).await;
    assert_eq!(j.status, x.status, "{path}{query}: JSON {} and XML {} differ", j.body, x.body);
    let v = j.json();
    let schema = if j.status == StatusCode::OK { schema } else { "errors" };
    let root = if j.status == StatusCode::OK { root } else { "errors" };
    assert_valid(schema, &v);
    same(&x.xml(), root, &v);
    (j.status, v)
}

// ----- a small JSON Schema checker: the subset the schemas use -----

fn schema(name: &str) -> Value {
    let path = format!("{}/tests/open311-schemas/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

/// `YYYY-MM-DDTHH:MM:SS` and a zone, no fractions: what strict validators accept.
pub fn is_w3c_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let base = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    base && (&s[19..] == "Z"
        || b.len() == 25 && (b[19] == b'+' || b[19] == b'-') && digits(20..22) && b[22] == b':' && digits(23..25))
}

fn check(s: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "null" => v.is_null(),
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "object" => v.is_object(),
            "array" => v.is_array(),
            _ => false,
        });
        if !ok {
            errs.push(format!("{at}: {v} is not of type {t}"));
            return;
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        errs.push(format!("{at}: {v} is not one of {e:?}"));
    }
    if let Some(text) = v.as_str() {
        let n = text.chars().count() as u64;
        if s.get("minLength").and_then(Value::as_u64).is_some_and(|m| n < m) {
            errs.push(format!("{at}: too short"));
        }
        if s.get("maxLength").and_then(Value::as_u64).is_some_and(|m| n > m) {
            errs.push(format!("{at}: too long"));
        }
        match s.get("format").and_then(Value::as_str) {
            Some("w3c-datetime") if !is_w3c_datetime(text) => {
                errs.push(format!("{at}: {text:?} is not a W3C datetime"))
            }
            Some("uri") if !(text.starts_with("http://") || text.starts_with("https://")) => {
                errs.push(format!("{at}: {text:?} is not a URL"))
            }
            _ => {}
        }
    }
    if let Some(x) = v.as_f64() {
        if s.get("minimum").and_then(Value::as_f64).is_some_and(|m| x < m) {
            errs.push(format!("{at}: below the minimum"));
        }
        if s.get("maximum").and_then(Value::as_f64).is_some_and(|m| x > m) {
            errs.push(format!("{at}: above the maximum"));
        }
    }
    if let Some(items) = v.as_array() {
        if s.get("minItems").and_then(Value::as_u64).is_some_and(|m| (items.len() as u64) < m) {
            errs.push(format!("{at}: fewer items than {}", s["minItems"]));
        }
        if s.get("maxItems").and_then(Value::as_u64).is_some_and(|m| (items.len() as u64) > m) {
            errs.push(format!("{at}: more items than {}", s["maxItems"]));
        }
        if let Some(is) = s.get("items") {
            for (i, item) in items.iter().enumerate() {
                check(is, item, &format!("{at}[{i}]"), errs);
            }
        }
    }
    if let Some(o) = v.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        for r in s.get("required").and_then(Value::as_array).into_iter().flatten() {
            if !o.contains_key(r.as_str().unwrap()) {
                errs.push(format!("{at}: {r} is required"));
            }
        }
        for (k, val) in o {
            match props.and_then(|p| p.get(k)) {
                Some(ps) => check(ps, val, &format!("{at}.{k}"), errs),
                None if s.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errs.push(format!("{at}: {k} is not allowed"))
                }
                None => {}
            }
        }
    }
}

pub fn assert_valid(name: &str, v: &Value) {
    let mut errs = Vec::new();
    check(&schema(name), v, "$", &mut errs);
    assert!(errs.is_empty(), "{name}: {errs:#?}\n{v}");
}

// ----- XML: parsed by an independent parser, compared with the JSON -----

#[derive(Debug)]
pub struct El {
    pub name: String,
    pub text: String,
    pub children: Vec<El>,
}

pub fn parse_xml(s: &str) -> El {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(s);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<El> = Vec::new();
    let mut root = None;
    loop {
        match reader.read_event().unwrap_or_else(|e| panic!("malformed XML ({e}): {s}")) {
            Event::Decl(_) => {}
            Event::Start(e) => {
                assert_eq!(e.attributes().count(), 0, "no attributes, no namespaces: {s}");
                stack.push(El { name: e.name().as_ref().to_string(), text: String::new(), children: vec![] });
            }
            Event::Empty(e) => {
                let el = El { name: e.name().as_ref().to_string(), text: String::new(), children: vec![] };
                stack.last_mut().expect("one root").children.push(el);
            }
            Event::End(_) => {
                let el = stack.pop().unwrap();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&t.xml10_content());
                } else {
                    assert!(t.trim().is_empty(), "text outside the root: {s}");
                }
            }
            Event::GeneralRef(r) => {
                let c = match &*r.xml10_content() {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    other => panic!("unknown entity {other} in {s}"),
                };
                stack.last_mut().unwrap().text.push(c);
            }
            Event::Eof => break,
            other => panic!("unexpected XML {other:?} in {s}"),
        }
    }
    root.expect("a root element")
}

/// The XML element is the JSON value under the Spark convention.
pub fn same(el: &El, name: &str, v: &Value) {
    assert_eq!(el.name, name);
    match v {
        Value::Array(items) => {
            assert_eq!(el.children.len(), items.len(), "<{name}> has {} children, JSON {}", el.children.len(), v);
            let item = el.children.first().map(|c| c.name.clone()).unwrap_or_default();
            for (c, i) in el.children.iter().zip(items) {
                same(c, &item, i);
            }
        }
        Value::Object(o) => {
            let mut names: Vec<&str> = el.children.iter().map(|c| c.name.as_str()).collect();
            names.sort_unstable();
            let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(names, keys, "<{name}>");
            for c in &el.children {
                same(c, &c.name, &o[&c.name]);
            }
        }
        Value::Null => assert!(el.text.is_empty() && el.children.is_empty(), "<{name}> is not empty"),
        Value::String(s) => assert_eq!(&el.text, s, "<{name}>"),
        Value::Bool(b) => assert_eq!(el.text, b.to_string(), "<{name}>"),
        Value::Number(n) => assert_eq!(el.text.parse::<f64>().ok(), n.as_f64(), "<{name}>"),
    }
}

// ----- the county -----

pub struct World {
    pub app: TestApp,
    pub clock: Arc<FakeClock>,
    /// The key of the county hotline's integration post.
    pub key: String,
    pub household: String,
    pub unit_chief: String,
    pub station_chief: String,
    /// The grid chief of another grid.
    pub other_grid_chief: String,
    pub unit_chief_post: i64,
}

pub async fn world(app: TestApp) -> World {
    let app = app.with_demo().await;
    let clock = FakeClock::at_local(at(2026, 3, 2, 9));
    app.store.set_clock(clock.clone());
    let shengquan = app.area_id("圣泉社区").await;
    let rows = app.staffed_units(shengquan).await;
    let (unit, grid) = rows[0];
    let other_grid = rows.iter().map(|r| r.1).find(|g| *g != grid).unwrap();
    let household: String = sqlx::query_scalar("SELECT code FROM households WHERE unit_id = $1 ORDER BY id LIMIT 1")
        .bind(unit)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let county = app.area_id("仙游县").await;
    let system = Caller::system();
    let new =
        NewAccount { login: "hotline.open311".into(), display_name: "12345 对接".into(), ..NewAccount::default() };
    let (acct, _) = app.store.create_account(&system, new).await.unwrap();
    let post = NewPost {
        account_id: acct.id,
        area_id: Some(county),
        kind: PostKind::HotlineAgent,
        is_primary: true,
        title: Some("Open311 integration".into()),
        started_on: None,
    };
    let hotline = app.store.appoint(&system, post).await.unwrap().id;
    let unit_chief_post = app.post_at(unit, "unit_chief").await.unwrap();
    World {
        key: app.post_token(hotline).await,
        household,
        unit_chief: app.post_token(unit_chief_post).await,
        station_chief: app.post_token(app.post_at(shengquan, "station_chief").await.unwrap()).await,
        other_grid_chief: app.post_token(app.post_at(other_grid, "grid_chief").await.unwrap()).await,
        unit_chief_post,
        clock,
        app,
    }
}

impl World {
    /// Posts a request in JSON format and returns its id.
    pub async fn report(&self, code: &str, extra: &[(&str, &str)]) -> String {
        let mut pairs = vec![
            ("api_key", self.key.as_str()),
            ("service_code", code),
            ("address_id", self.household.as_str()),
            ("description", "路口垃圾堆放三天无人清理"),
        ];
        pairs.extend_from_slice(extra);
        let r = send(&self.app, Method::POST, "/open311/v2/requests.json", Some(form(&pairs))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let v = r.json();
        assert_valid("post_request", &v);
        v[0]["service_request_id"].as_str().unwrap().to_string()
    }
}

// ----- the scenarios -----

/// A JSON document of the API as a client asking for `accept_language` reads it.
async fn in_language(app: &TestApp, path: &str, accept_language: &str) -> Value {
    let response =
        app.client.get(format!("{}{path}", app.base)).header("accept-language", accept_language).send().await.unwrap();
    response.json::<Value>().await.unwrap()
}

async fn discovery_and_services_follow_the_spec(app: TestApp) {
    let w = world(app).await;
    let app = &w.app;
    let (s, d) = both(app, "/open311/v2/discovery", "", "discovery", "discovery").await;
    assert_eq!(s, StatusCode::OK);
    assert!(d["endpoints"][0]["url"].as_str().unwrap().ends_with("/open311/v2"), "{d}");
    assert_eq!(d["endpoints"][0]["formats"], json!(["text/xml", "application/json"]));
    // The discovery's texts come from the locale files, in the asker's language.
    assert_eq!(d["contact"], "请拨打县12345热线或联系所在网格", "{d}");
    let en = in_language(app, "/open311/v2/discovery.json", "en").await;
    assert_eq!(en["contact"], "Call the county's 12345 hotline or your grid's chief", "{en}");

    let (s, services) = both(app, "/open311/v2/services", "", "services", "services").await;
    assert_eq!(s, StatusCode::OK);
    let find = |code: &str| services.as_array().unwrap().iter().find(|x| x["service_code"] == code).cloned().unwrap();
    assert_eq!(find("exposed_rubbish")["metadata"], false);
    assert_eq!(find("exposed_rubbish")["group"], "环境卫生", "a child's group is its parent");
    assert_eq!(find("illegal_structure")["metadata"], true);
    assert_eq!(find("illegal_structure")["type"], "realtime");
    assert!(find("neighbour_dispute")["keywords"].as_str().unwrap().split(',').any(|k| k == "private"));
    // The language follows Accept-Language.
    let en = in_language(app, "/open311/v2/services.json", "en-GB,en;q=0.8").await;
    assert!(en.as_array().unwrap().iter().any(|x| x["service_name"] == "Exposed rubbish"), "{en}");

    // Every datatype of the spec, from the catalogue's questions.
    let mut datatypes = std::collections::BTreeSet::new();
    for code in ["illegal_structure", "neighbour_dispute", "safety_hazard", "road_occupation", "parking", "inquiry"] {
        let (s, def) =
            both(app, &format!("/open311/v2/services/{code}"), "", "service_definition", "service_definition").await;
        assert_eq!(s, StatusCode::OK, "{def}");
        assert_eq!(def["service_code"], code);
        for (i, a) in def["attributes"].as_array().unwrap().iter().enumerate() {
            assert_eq!(a["order"], i + 1, "orders are 1, 2, … in order");
            let dt = a["datatype"].as_str().unwrap();
            let lists = dt.ends_with("valuelist");
            assert_eq!(!a["values"].as_array().unwrap().is_empty(), lists, "{a}");
            datatypes.insert(dt.to_string());
        }
    }
    assert_eq!(
        datatypes.into_iter().collect::<Vec<_>>(),
        ["datetime", "multivaluelist", "number", "singlevaluelist", "string", "text"]
    );
    let (_, def) =
        both(app, "/open311/v2/services/neighbour_dispute", "", "service_definition", "service_definition").await;
    assert_eq!(def["attributes"][0]["required"], true);
    let (_, def) =
        both(app, "/open311/v2/services/safety_hazard", "", "service_definition", "service_definition").await;
    assert_eq!(def["attributes"][0]["values"], json!([{"key": "true", "name": "是"}, {"key": "false", "name": "否"}]));

    // Unknown codes are 404 in the errors shape; unknown or missing extensions are plain 404.
    let (s, e) = both(app, "/open311/v2/services/no_such_code", "", "-", "-").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(e[0]["code"], 404);
    for path in
        ["/open311/v2/services", "/open311/v2/services.html", "/open311/v2/requests/1.yaml", "/open311/v2/nothing.json"]
    {
        let r = get(app, path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(r.content_type.starts_with("text/plain"), "{path}: {}", r.content_type);
    }
    // The jurisdiction is optional with one county, whatever its value.
    let (s, _) = both(app, "/open311/v2/services", "?jurisdiction_id=xianyou.gov.cn", "services", "services").await;
    assert_eq!(s, StatusCode::OK);
    // lat/long: the services at a point; a point far from the county has none; both or neither.
    let (s, far) = both(app, "/open311/v2/services", "?lat=39.9&long=116.4", "services", "services").await;
    assert_eq!((s, far.as_array().unwrap().len()), (StatusCode::OK, 0), "Beijing is not in the county");
    let (s, e) = both(app, "/open311/v2/services", "?lat=25.4", "-", "-").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(e[0]["description"].as_str().unwrap().contains("long"), "{e}");
    // The demo's 12345 integration: its reports are public, its printed key posts.
    let county = app.area_id("仙游县").await;
    assert_eq!(app.store.seed_demo_open311(county, crate::DEMO_PASSWORD).await.unwrap(), 2);
    let (_, demo) = both(app, "/open311/v2/requests", "?extensions=true", "requests", "service_requests").await;
    let channels: Vec<&Value> = demo.as_array().unwrap().iter().map(|r| &r["extended_attributes"]["channel"]).collect();
    assert_eq!(channels, [&json!("open311"), &json!("open311")]);
    let key = wangge_store::demo_open311_key(crate::DEMO_PASSWORD);
    let r = send(
        app,
        Method::POST,
        "/open311/v2/requests.json",
        Some(form(&[("api_key", key.as_str()), ("service_code", "parking"), ("address_string", "圣泉社区")])),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Tokens: every service is realtime, so no token exists.
    let (s, e) = both(app, "/open311/v2/tokens/abc123", "", "-", "-").await;
    assert_eq!((s, e[0]["code"].clone()), (StatusCode::NOT_FOUND, json!(404)));
}

async fn requests_are_posted_and_read_back(app: TestApp) {
    let w = world(app).await;
    let app = &w.app;
    // URL-encoded, the key in the body, the answers as attribute[code] and attribute[code][].
    let r = send(
        app,
        Method::POST,
        "/open311/v2/requests.xml",
        Some(form(&[
            ("api_key", w.key.as_str()),
            ("jurisdiction_id", "xianyou.gov.cn"),
            ("service_code", "illegal_structure"),
            ("address_id", w.household.as_str()),
            ("description", "楼顶在搭彩钢棚 <二层> & 围墙"),
            ("attribute[structure][]", "roof_shed"),
            ("attribute[structure][]", "enclosure_wall"),
            ("attribute[started]", "2026-02-28T08:30:00.123456+08:00"),
            ("first_name", "秀英"),
            ("last_name", "林"),
            ("phone", "13905941234"),
            ("email", "lin@example.com"),
            ("media_url", "https://example.com/a.jpg"),
            ("media_url", "https://example.com/b.jpg"),
        ])),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let x = r.xml();
    assert_eq!(x.name, "service_requests");
    assert_eq!(x.children.len(), 1);
    let first = x.children[0].children.iter().find(|c| c.name == "service_request_id").unwrap().text.clone();
    assert!(!x.children[0].children.iter().any(|c| c.name == "token"), "an id or a token, never both");

    // Multipart with a photo, the key in the query.
    let r = send(
        app,
        Method::POST,
        &format!("/open311/v2/requests.json?api_key={}", w.key),
        Some(Body::Multipart(
            vec![
                ("service_code".into(), "exposed_rubbish".into()),
                ("lat".into(), "".into()),
                ("address_string".into(), "圣泉社区, 鲤南镇, 仙游县".into()),
                ("description".into(), "垃圾桶满溢".into()),
            ],
            vec![("media".into(), "photo.png".into(), "image/png".into(), PNG.to_vec())],
        )),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_valid("post_request", &v);
    let second = v[0]["service_request_id"].as_str().unwrap().to_string();
    assert_eq!(v[0]["service_notice"], "垃圾问题将在1个工作日内清理完毕。", "the category's promise");

    // Read back, one request as a one-element list, in both formats.
    let (s, one) = both(app, &format!("/open311/v2/requests/{first}"), "", "requests", "service_requests").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(one.as_array().unwrap().len(), 1);
    let req = &one[0];
    assert_eq!(req["service_request_id"], first.as_str());
    assert_eq!(req["status"], "open");
    assert_eq!(req["description"], "楼顶在搭彩钢棚 <二层> & 围墙");
    assert_eq!(req["media_url"], "https://example.com/a.jpg");
    assert!(req["address_id"].is_null(), "a household is never published: {req}");
    assert!(req["address"].as_str().unwrap().ends_with("圣泉社区, 鲤南镇, 仙游县"), "{req}");
    let (_, ext) =
        both(app, &format!("/open311/v2/requests/{first}"), "?extensions=true", "requests", "service_requests").await;
    let ea = &ext[0]["extended_attributes"];
    assert_eq!(ea["channel"], "open311");
    assert_eq!(ea["detailed_status"], "received");
    assert_eq!(ea["media_urls"], json!(["https://example.com/a.jpg", "https://example.com/b.jpg"]));
    assert_eq!(ext[0]["notes"][0]["type"], "intake");
    assert_eq!(ext[0]["notes"][0]["summary"], "已受理", "the summary speaks the asker's language");
    let answers: String = sqlx::query_scalar("SELECT answers FROM cases WHERE number = $1")
        .bind(&first)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let answers: Value = serde_json::from_str(&answers).unwrap();
    assert_eq!(answers["structure"], json!(["roof_shed", "enclosure_wall"]));
    assert_eq!(answers["started"], "2026-02-28T08:30:00+08:00");

    // The photo is published by its URL; the address text chose the community.
    let (_, two) =
        both(app, &format!("/open311/v2/requests/{second}"), "?extensions=true", "requests", "service_requests").await;
    let url = two[0]["media_url"].as_str().unwrap().to_string();
    let photo = app.client.get(&url).send().await.unwrap();
    assert_eq!(photo.headers()["content-type"], "image/png");
    assert_eq!(photo.bytes().await.unwrap().as_ref(), PNG);
    assert_eq!(two[0]["extended_attributes"]["address_string"], "圣泉社区, 鲤南镇, 仙游县");
    assert_eq!(two[0]["address"], "圣泉社区, 鲤南镇, 仙游县");

    // A private category is taken but never published.
    let private = w.report("neighbour_dispute", &[("attribute[parties]", "2")]).await;
    let (s, _) = both(app, &format!("/open311/v2/requests/{private}"), "", "-", "-").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, all) = both(app, "/open311/v2/requests", "", "requests", "service_requests").await;
    let ids: Vec<&str> = all.as_array().unwrap().iter().map(|r| r["service_request_id"].as_str().unwrap()).collect();
    assert!(ids.contains(&first.as_str()) && ids.contains(&second.as_str()) && !ids.contains(&private.as_str()));
    // Reporter details never appear anywhere.
    for path in [
        "/open311/v2/requests.xml?extensions=true".to_string(),
        "/open311/v2/requests.json?extensions=true".to_string(),
        format!("/open311/v2/requests/{first}.json?extensions=true"),
        "/open311/v2/servicerequestupdates.xml".to_string(),
    ] {
        let body = get(app, &path).await.body;
        for secret in ["13905941234", "秀英", "lin@example.com"] {
            assert!(!body.contains(secret), "{path} shows {secret}");
        }
    }
    // service_request_id overrides every other filter (even a status that would exclude it).
    let (_, o) = both(
        app,
        "/open311/v2/requests",
        &format!(
            "?service_request_id={first},{second},{private}&status=closed&service_code=parking&page=9&page_size=x\
             &start_date=2020-01-01T00:00:00"
        ),
        "requests",
        "service_requests",
    )
    .await;
    assert_eq!(o.as_array().unwrap().len(), 2, "{o}");
}

/// Makes `n` copies of a case, created at `at`, straight in the table (fast).
async fn copies(app: &TestApp, number: &str, n: usize, at: &str) {
    let mut tx = app.store.pool().begin().await.unwrap();
    for i in 0..n {
        sqlx::query(
            "INSERT INTO cases (county_id, grid_id, number, state, category_code, is_private, severity, channel, \
             description, answers, area_id, area_path, escalation_level, reporters, priority, machine, created_at, \
             updated_at) SELECT county_id, grid_id, $1, state, category_code, is_private, severity, channel, description, \
             answers, area_id, area_path, escalation_level, reporters, priority, machine, $2, $2 FROM cases WHERE number = $3",
        )
        .bind(format!("C{i:06}"))
        .bind(at)
        .bind(number)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

async fn searches_follow_the_window_cap_and_paging_rules(app: TestApp) {
    let w = world(app).await;
    let app = &w.app;
    // Three requests: 100 days ago, 10 days ago, now (2026-03-02 09:00 +08:00).
    w.clock.set_local(at(2025, 11, 22, 9));
    let old = w.report("exposed_rubbish", &[]).await;
    w.clock.set_local(at(2026, 2, 20, 9));
    let mid = w.report("dirty_road", &[]).await;
    w.clock.set_local(at(2026, 3, 2, 9));
    let new = w.report("exposed_rubbish", &[]).await;
    let ids = |v: &Value| -> Vec<String> {
        v.as_array().unwrap().iter().map(|r| r["service_request_id"].as_str().unwrap().to_string()).collect()
    };
    let q = |query: &'static str| both(app, "/open311/v2/requests", query, "requests", "service_requests");

    // The default window is the last 90 days, newest first; ids and codes are strings.
    let (_, v) = q("").await;
    assert_eq!(ids(&v), vec![new.clone(), mid.clone()]);
    assert!(v[0]["service_code"].is_string() && v[0]["service_request_id"].is_string());
    assert_eq!(v[0]["requested_datetime"], "2026-03-02T09:00:00+08:00", "whole seconds with the county's offset");
    // Empty parameters are absent.
    let (_, e) = q("?status=&service_code=&start_date=&end_date=&page=&page_size=&jurisdiction_id=").await;
    assert_eq!(ids(&e), ids(&v));
    // Offsets and fractions are accepted; the same instant in any zone.
    let (_, v) = q("?start_date=2026-02-20T01:00:00.000000Z&end_date=2026-02-20T09:00:00.999999%2B08:00").await;
    assert_eq!(ids(&v), vec![mid.clone()]);
    let (_, v) = q("?start_date=2025-11-21T20:00:00-05:00&end_date=2025-11-22T09:00:00%2B08:00").await;
    assert_eq!(ids(&v), vec![old.clone()], "one end given: the window is exactly that span");
    let (_, v) = q("?start_date=2025-11-23T00:00:00Z").await;
    assert_eq!(ids(&v), vec![mid.clone()], "one end: 90 days from it");
    // A time without a zone is refused; so is a span over 90 days, or a reversed one.
    for bad in [
        "?start_date=2026-02-20T09:00:00",
        "?updated_after=2026-02-20",
        "?start_date=2025-11-01T00:00:00Z&end_date=2026-03-01T00:00:00Z",
        "?start_date=2026-03-01T00:00:00Z&end_date=2026-02-01T00:00:00Z",
        "?status=pending",
        "?page=0",
        "?page_size=501",
        "?page_size=ten",
    ] {
        let (s, e) = q(bad).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {e}");
        assert_eq!(e.as_array().unwrap().len(), 1, "{bad}: {e}");
        assert_eq!(e[0]["code"], 400);
    }
    let (_, e) = q("?start_date=2026-02-20T09:00:00").await;
    assert!(e[0]["description"].as_str().unwrap().contains("zone"), "{e}");
    // Status and service code filters.
    let (_, v) = q("?service_code=dirty_road").await;
    assert_eq!(ids(&v), vec![mid.clone()]);
    let (_, v) = q("?service_code=dirty_road,exposed_rubbish&status=open,closed").await;
    assert_eq!(ids(&v).len(), 2);
    let (_, v) = q("?status=closed").await;
    assert!(v.as_array().unwrap().is_empty());
    // Incremental sync by update time, outside the default window.
    let (_, v) = q("?updated_before=2025-12-01T00:00:00Z").await;
    assert_eq!(ids(&v), vec![old.clone()]);
    let (_, v) = q("?updated_after=2026-02-20T01:00:00Z").await;
    assert_eq!(ids(&v), vec![new.clone()], "strictly after");

    // Paging: 1-based pages; a page past the end is [].
    let (_, v) = q("?page_size=1").await;
    assert_eq!(ids(&v), vec![new.clone()]);
    let (_, v) = q("?page=2&page_size=1").await;
    assert_eq!(ids(&v), vec![mid.clone()]);
    let (s, v) = q("?page=3&page_size=1").await;
    assert_eq!((s, v), (StatusCode::OK, json!([])));
    let x = get(app, "/open311/v2/requests.xml?page=9").await;
    assert_eq!(x.status, StatusCode::OK);
    let el = x.xml();
    assert_eq!((el.name.as_str(), el.children.len()), ("service_requests", 0));

    // The 1000 cap: 1001 more requests today; the search returns the first 1000, pages stop there.
    copies(app, &new, 1001, "2026-03-02T00:30:00Z").await;
    let r = get(app, "/open311/v2/requests.json").await;
    assert_eq!(r.json().as_array().unwrap().len(), 1000);
    let r = get(app, "/open311/v2/requests.json?page=2&page_size=500").await;
    assert_eq!(r.json().as_array().unwrap().len(), 500);
    let r = get(app, "/open311/v2/requests.json?page=20").await;
    assert_eq!(r.json().as_array().unwrap().len(), 50, "page 20 of 50 ends at the cap");
    let r = get(app, "/open311/v2/requests.json?page=21").await;
    assert_eq!(r.json(), json!([]), "past the cap");
}

async fn bad_input_gets_one_error_per_problem(app: TestApp) {
    let w = world(app).await;
    let app = &w.app;
    let count = || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM cases").fetch_one(app.store.pool()).await.unwrap();
        n
    };
    let before = count().await;
    let post = |fmt: &'static str, pairs: Vec<(&'static str, String)>| {
        let body = Body::Form(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
        let path = format!("/open311/v2/requests.{fmt}");
        async move { send(app, Method::POST, &path, Some(body)).await }
    };
    let key = w.key.clone();
    // No key or a wrong key: 403, in both formats.
    for fmt in ["json", "xml"] {
        let r = post(fmt, vec![("service_code", "exposed_rubbish".into()), ("address_id", w.household.clone())]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let r2 = post(fmt, vec![("api_key", "nope".into()), ("service_code", "exposed_rubbish".into())]).await;
        assert_eq!(r2.status, StatusCode::FORBIDDEN);
        if fmt == "json" {
            let v = r.json();
            assert_valid("errors", &v);
            assert_eq!(v[0]["code"], 403);
        } else {
            let x = r.xml();
            assert_eq!(x.name, "errors");
            assert_eq!(x.children[0].name, "error");
            assert_eq!(x.children[0].children[0].name, "code");
            assert_eq!(x.children[0].children[0].text, "403");
        }
    }
    // Unknown service code: 404.
    let r = post(
        "json",
        vec![
            ("api_key", key.clone()),
            ("service_code", "teleport".into()),
            ("lat", "25.4".into()),
            ("long", "118.7".into()),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_valid("errors", &r.json());
    // Missing service code: 400.
    let r = post("json", vec![("api_key", key.clone()), ("address_id", w.household.clone())]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Four problems at once, four errors: a missing required attribute, a value not in the
    // list, a description over 4000 characters, no location.
    let long = "长".repeat(4001);
    for fmt in ["json", "xml"] {
        let r = post(
            fmt,
            vec![
                ("api_key", key.clone()),
                ("service_code", "safety_hazard".into()),
                ("description", long.clone()),
                ("attribute[people_at_risk]", "maybe".into()),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        let r2 = post(
            fmt,
            vec![("api_key", key.clone()), ("service_code", "neighbour_dispute".into()), ("description", long.clone())],
        )
        .await;
        assert_eq!(r2.status, StatusCode::BAD_REQUEST, "{}", r2.body);
        let descriptions: Vec<String> = if fmt == "json" {
            let (a, b) = (r.json(), r2.json());
            assert_valid("errors", &a);
            assert_valid("errors", &b);
            a.as_array()
                .unwrap()
                .iter()
                .chain(b.as_array().unwrap())
                .map(|e| e["description"].as_str().unwrap().to_string())
                .collect()
        } else {
            [r.xml(), r2.xml()]
                .iter()
                .flat_map(|x| x.children.iter().map(|e| e.children[1].text.clone()).collect::<Vec<_>>())
                .collect()
        };
        assert_eq!(descriptions.len(), 6, "{descriptions:#?}");
        let has = |s: &str| descriptions.iter().filter(|d| d.contains(s)).count();
        assert_eq!(has("\"maybe\" is not in the list of attribute[people_at_risk]"), 1, "{descriptions:#?}");
        assert_eq!(has("attribute[parties] (Households involved) is required"), 1, "{descriptions:#?}");
        assert_eq!(has("description has at most 4000 characters"), 2, "{descriptions:#?}");
        assert_eq!(has("a location is required"), 2, "{descriptions:#?}");
    }
    // Exactly 4000 characters is fine.
    let r = post(
        "json",
        vec![
            ("api_key", key.clone()),
            ("service_code", "exposed_rubbish".into()),
            ("address_id", w.household.clone()),
            ("description", "长".repeat(4000)),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Other location problems, each named.
    for (pairs, want) in [
        (vec![("lat", "25.4")], "lat and long go together"),
        (vec![("lat", "north"), ("long", "118.7")], "lat must be a number"),
        (vec![("address_id", "3503229999999999999")], "is not a house or household code"),
        (vec![("lat", "39.9"), ("long", "116.4")], "outside"),
    ] {
        let mut all = vec![("api_key", key.clone()), ("service_code", "exposed_rubbish".to_string())];
        all.extend(pairs.into_iter().map(|(k, v)| (k, v.to_string())));
        let r = post("json", all).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{want}: {}", r.body);
        let v = r.json();
        assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
        assert!(v[0]["description"].as_str().unwrap().contains(want), "{want}: {v}");
    }
    // A body that is neither form encoding.
    let r = app
        .client
        .post(format!("{}/open311/v2/requests.json", app.base))
        .header("content-type", "application/json")
        .body(format!("{{\"api_key\":\"{key}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(count().await, before + 1, "only the good request was written");
}

async fn an_open311_case_reaches_its_owner_and_its_updates_show(app: TestApp) {
    let w = world(app).await;
    let app = &w.app;
    let number = w.report("exposed_rubbish", &[]).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM cases WHERE number = $1")
        .bind(&number)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    // Received from Open311: the community files it, routing gives it to the unit chief.
    let (s, v) = app
        .call_as(Some(&w.station_chief), Method::POST, &format!("/api/v1/cases/{id}/moves/accept"), Some(json!({})))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "dispatched");
    assert_eq!(v["owner_post_id"], w.unit_chief_post);
    let (s, queue) = app.call_as(Some(&w.unit_chief), Method::GET, "/api/v1/cases?mine=true", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(queue["items"].as_array().unwrap().iter().any(|c| c["number"] == number.as_str()), "{queue}");
    assert_eq!(queue["items"][0]["channel"], "open311");

    // Its progress shows in GET requests.
    w.clock.advance(TimeDelta::minutes(20));
    let mv = |m: &'static str, body: Value| {
        let key = w.unit_chief.clone();
        async move { app.call_as(Some(&key), Method::POST, &format!("/api/v1/cases/{id}/moves/{m}"), Some(body)).await }
    };
    assert_eq!(mv("sign", json!({})).await.0, StatusCode::OK);
    let q = format!("/open311/v2/requests/{number}");
    let (_, v) = both(app, &q, "?extensions=true", "requests", "service_requests").await;
    let r = &v[0];
    assert_eq!(r["status"], "open");
    assert_eq!(r["extended_attributes"]["detailed_status"], "signed");
    let agency = r["agency_responsible"].as_str().unwrap();
    assert!(agency.starts_with("鲤南镇 / 圣泉社区 / "), "the owner's area path: {agency}");
    assert!(r["expected_datetime"].is_string(), "the current deadline: {r}");
    assert_eq!(r["updated_datetime"], "2026-03-02T09:20:00+08:00");
    assert_eq!(r["extended_attributes"]["sla_state"], "on_time");
    assert!(r["extended_attributes"]["grid_code"].is_string());

    // The unit chief's back office pushes FixMyStreet updates; a retry is the same update.
    let push = |key: &str, update: &str, status: &str, text: &str| {
        let pairs: Vec<(String, String)> = [
            ("api_key", key),
            ("service_request_id", number.as_str()),
            ("update_id", update),
            ("status", status),
            ("updated_datetime", "2026-03-02T09:30:00.5+08:00"),
            ("description", text),
            ("first_name", "-"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
        send(app, Method::POST, "/open311/v2/servicerequestupdates.json", Some(Body::Form(pairs)))
    };
    mv("respond", json!({})).await;
    let r = push(&w.unit_chief, "bo-1", "IN_PROGRESS", "保洁员已到场").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let first = r.json();
    assert_valid("post_service_request_update", &first);
    let again = push(&w.unit_chief, "bo-1", "IN_PROGRESS", "保洁员已到场").await.json();
    assert_eq!(first, again, "the same update_id is one update");
    let r = push(&w.unit_chief, "bo-2", "FIXED", "已清理完毕").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Pushing to a case of another grid, or without a key, changes nothing.
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM case_events").fetch_one(app.store.pool()).await.unwrap();
    let r = push(&w.other_grid_chief, "x-1", "FIXED", "not mine").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_valid("errors", &r.json());
    let r = push("", "x-2", "FIXED", "no key").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = push(&w.unit_chief, "x-3", "fixed?", "bad status").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM case_events").fetch_one(app.store.pool()).await.unwrap();
    assert_eq!(events, after);

    let (_, v) = both(app, &q, "?extensions=true", "requests", "service_requests").await;
    let r = &v[0];
    assert_eq!(r["status_notes"], "已清理完毕");
    assert_eq!(r["extended_attributes"]["detailed_status"], "resolved");
    let kinds: Vec<&str> = r["notes"].as_array().unwrap().iter().map(|n| n["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["intake", "accept", "dispatch", "sign", "respond", "comment", "resolve"]);

    // The update feed, lowercase statuses, oldest first.
    let (_, feed) = both(
        app,
        "/open311/v2/servicerequestupdates",
        "?start_date=2026-03-02T00:00:00Z&end_date=2026-03-02T12:00:00Z",
        "service_request_updates",
        "service_request_updates",
    )
    .await;
    let mine: Vec<&Value> =
        feed.as_array().unwrap().iter().filter(|u| u["service_request_id"] == number.as_str()).collect();
    let statuses: Vec<&str> = mine.iter().map(|u| u["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["open", "open", "action_scheduled", "in_progress", "in_progress", "unchanged", "fixed"]);
    assert_eq!(mine[5]["update_id"], first[0]["update_id"]);
    assert_eq!(mine[5]["description"], "保洁员已到场");
    let (s, _) = both(app, "/open311/v2/servicerequestupdates", "?start_date=2026-03-02T00:00:00", "-", "-").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Closed: the status and its close time.
    w.clock.advance(TimeDelta::hours(1));
    let (s, v) = app
        .call_as(Some(&w.station_chief), Method::POST, &format!("/api/v1/cases/{id}/moves/close"), Some(json!({})))
        .await;
    assert!(s == StatusCode::OK || s == StatusCode::CONFLICT, "{v}");
    if s == StatusCode::OK {
        let (_, v) = both(app, &q, "", "requests", "service_requests").await;
        assert_eq!(v[0]["status"], "closed");
        assert_eq!(v[0]["updated_datetime"], "2026-03-02T10:20:00+08:00");
        assert!(v[0]["expected_datetime"].is_null());
    }
}
