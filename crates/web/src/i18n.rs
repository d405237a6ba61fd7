//! The two languages of the site and their Fluent messages. Every text a page shows comes from
//! `locales/<lang>/*.ftl`; templates and code hold message ids only.

use std::sync::LazyLock;

use axum::http::HeaderMap;
use axum::http::header;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

pub const LANG_COOKIE: &str = "wangge_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Simplified Chinese, the default.
    Zh,
    En,
}

/// The message files of each language, one per part of the site.
const FILES: &[(&str, &str, &str)] = &[
    ("main", include_str!("../locales/zh-CN/main.ftl"), include_str!("../locales/en/main.ftl")),
    ("registry", include_str!("../locales/zh-CN/registry.ftl"), include_str!("../locales/en/registry.ftl")),
    ("areas", include_str!("../locales/zh-CN/areas.ftl"), include_str!("../locales/en/areas.ftl")),
    ("cases", include_str!("../locales/zh-CN/cases.ftl"), include_str!("../locales/en/cases.ftl")),
    ("data", include_str!("../locales/zh-CN/data.ftl"), include_str!("../locales/en/data.ftl")),
    ("rooms", include_str!("../locales/zh-CN/rooms.ftl"), include_str!("../locales/en/rooms.ftl")),
    ("services", include_str!("../locales/zh-CN/services.ftl"), include_str!("../locales/en/services.ftl")),
    ("meetings", include_str!("../locales/zh-CN/meetings.ftl"), include_str!("../locales/en/meetings.ftl")),
    ("mediation", include_str!("../locales/zh-CN/mediation.ftl"), include_str!("../locales/en/mediation.ftl")),
    ("open311", include_str!("../locales/zh-CN/open311.ftl"), include_str!("../locales/en/open311.ftl")),
    (
        "staff_services",
        include_str!("../locales/zh-CN/staff_services.ftl"),
        include_str!("../locales/en/staff_services.ftl"),
    ),
];

type Bundle = FluentBundle<FluentResource>;

fn bundle(lang: Lang) -> Bundle {
    let id = lang.tag().parse().expect("the language tags are valid");
    let mut b = FluentBundle::new_concurrent(vec![id]);
    // Isolation marks around arguments would show up as stray characters in form values.
    b.set_use_isolating(false);
    for (name, zh, en) in FILES {
        let text = if lang == Lang::Zh { zh } else { en };
        let res = FluentResource::try_new(text.to_string())
            .unwrap_or_else(|(_, errs)| panic!("locale file {name} of {} does not parse: {errs:?}", lang.tag()));
        b.add_resource(res).unwrap_or_else(|errs| panic!("locale file {name} repeats messages: {errs:?}"));
    }
    b
}

static BUNDLES: LazyLock<[Bundle; 2]> = LazyLock::new(|| [bundle(Lang::Zh), bundle(Lang::En)]);

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Zh, Lang::En];

    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.tag().eq_ignore_ascii_case(s))
    }

    /// The language of a request: the switch's cookie, else the browser's first preference
    /// among ours, else Chinese.
    pub fn of(headers: &HeaderMap) -> Lang {
        if let Some(l) = crate::ctx::cookie(headers, LANG_COOKIE).and_then(|v| Lang::parse(&v)) {
            return l;
        }
        let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
        for tag in accept.split(',') {
            let tag = tag.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if tag.starts_with("zh") {
                return Lang::Zh;
            }
            if tag.starts_with("en") {
                return Lang::En;
            }
        }
        Lang::Zh
    }

    fn bundle(self) -> &'static Bundle {
        &BUNDLES[if self == Lang::Zh { 0 } else { 1 }]
    }

    /// The message `id`; the id itself when it is missing (a test keeps every id present).
    pub fn t(self, id: &str) -> String {
        self.format(id, None)
    }

    /// The message `id` with arguments.
    pub fn t_args(self, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let mut a = FluentArgs::new();
        for (k, v) in args {
            a.set(*k, v.clone());
        }
        self.format(id, Some(&a))
    }

    pub fn has(self, id: &str) -> bool {
        self.bundle().has_message(id)
    }

    fn format(self, id: &str, args: Option<&FluentArgs>) -> String {
        let b = self.bundle();
        let Some(pattern) = b.get_message(id).and_then(|m| m.value()) else {
            tracing::warn!(id, lang = self.tag(), "missing message");
            return id.to_string();
        };
        let mut errors = vec![];
        b.format_pattern(pattern, args, &mut errors).into_owned()
    }
}

/// The ids of every message of one language, for the tests that keep the two in step.
pub fn message_ids(lang: Lang) -> Vec<String> {
    let mut ids = vec![];
    for (_, zh, en) in FILES {
        let text = if lang == Lang::Zh { zh } else { en };
        for line in text.lines() {
            let first = line.chars().next();
            if first.is_some_and(|c| c.is_ascii_alphabetic())
                && let Some((id, _)) = line.split_once('=')
            {
                ids.push(id.trim().to_string());
            }
        }
    }
    ids.sort();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_messages() {
        let zh = message_ids(Lang::Zh);
        let en = message_ids(Lang::En);
        let only_zh: Vec<_> = zh.iter().filter(|i| !en.contains(i)).collect();
        let only_en: Vec<_> = en.iter().filter(|i| !zh.contains(i)).collect();
        assert!(only_zh.is_empty() && only_en.is_empty(), "only in zh-CN: {only_zh:?}; only in en: {only_en:?}");
        let mut dedup = zh.clone();
        dedup.dedup();
        assert_eq!(dedup.len(), zh.len(), "a message id is repeated");
    }

    /// Every message id a template or the code names exists in both languages.
    #[test]
    fn every_used_id_exists() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/");
        let mut missing = vec![];
        let mut used = 0;
        // Every file under templates/ and src/, subfolders included.
        let mut dirs = vec![std::path::PathBuf::from(format!("{dir}templates")), format!("{dir}src").into()];
        while let Some(d) = dirs.pop() {
            for entry in std::fs::read_dir(d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for cap in text.split(".t(\"").skip(1) {
                    let id = cap.split('"').next().unwrap();
                    if id.is_empty() || id.contains(' ') || id.contains('{') {
                        continue;
                    }
                    used += 1;
                    for lang in Lang::ALL {
                        if !lang.has(id) {
                            missing.push(format!("{} in {} ({})", id, path.display(), lang.tag()));
                        }
                    }
                }
            }
        }
        assert!(used > 20, "the scan found only {used} message ids");
        assert!(missing.is_empty(), "missing messages: {missing:#?}");
    }

    #[test]
    fn language_comes_from_cookie_then_browser() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::of(&h), Lang::Zh);
        h.insert(header::ACCEPT_LANGUAGE, "en-US,en;q=0.9,zh-CN;q=0.8".parse().unwrap());
        assert_eq!(Lang::of(&h), Lang::En);
        h.insert(header::COOKIE, "a=b; wangge_lang=zh-CN".parse().unwrap());
        assert_eq!(Lang::of(&h), Lang::Zh);
        assert_eq!(Lang::En.t_args("page-of", &[("page", 2.into()), ("pages", 5.into())]), "Page 2 of 5");
    }
}
