//! Settings from flags and `WANGGE_*` environment variables (flags win).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use wangge_core::CodeWidths;

fn parse_widths(s: &str) -> Result<CodeWidths, String> {
    let n: Vec<usize> = s
        .split(',')
        .map(|p| p.trim().parse::<usize>().ok().filter(|n| (1..=12).contains(n)))
        .collect::<Option<_>>()
        .ok_or("code widths are seven numbers from 1 to 12, such as 6,3,3,3,3,4,2")?;
    match n[..] {
        [county, town, community, grid, unit, house, household] => {
            Ok(CodeWidths { county, town, community, grid, unit, house, household })
        }
        _ => Err("code widths are seven numbers: county, town, community, grid, unit, house, household".into()),
    }
}

#[derive(Args, Debug, Clone)]
pub struct Settings {
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB. Default: SQLite under --data-dir.
    #[arg(long, env = "WANGGE_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Directory for the embedded database and the secret key file.
    #[arg(long, env = "WANGGE_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,
    /// Address and port to listen on.
    #[arg(long, env = "WANGGE_BIND", default_value = "127.0.0.1:8080", global = true)]
    pub bind: SocketAddr,
    /// Key of the keyed hash that makes ID numbers and phones searchable. Default: a random key
    /// kept in DATA_DIR/secret.key, made on first start. Several servers must share one.
    #[arg(long, env = "WANGGE_SECRET_KEY", global = true, hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Key (64 hex digits) that seals ID numbers and phones in the database. Default: a random
    /// key kept in DATA_DIR/data.key, made on first start. Keep a copy: without it the sealed
    /// values are lost.
    #[arg(long, env = "WANGGE_DATA_KEY", global = true, hide_env_values = true)]
    pub data_key: Option<String>,
    /// Digits each level adds to the standard code: county, town, community, grid, unit, house,
    /// household.
    #[arg(long, env = "WANGGE_CODE_WIDTHS", default_value = "6,3,3,3,3,4,2", value_parser = parse_widths, global = true)]
    pub code_widths: CodeWidths,
    /// How long a web session lasts, in minutes.
    #[arg(long, env = "WANGGE_SESSION_MINUTES", default_value_t = 720, global = true)]
    pub session_minutes: i64,
    /// Send the session cookie over plain HTTP too (for a closed network without TLS).
    #[arg(long, env = "WANGGE_INSECURE_COOKIES", global = true)]
    pub insecure_cookies: bool,
    /// The message gateway: an HTTP endpoint that takes one JSON POST per outgoing SMS or
    /// webhook (see docs/messages.md). Without it, messages are recorded and wait.
    #[arg(long, env = "WANGGE_GATEWAY_URL", global = true)]
    pub gateway_url: Option<String>,
    /// The secret that signs each POST to the gateway (header x-wangge-signature).
    #[arg(long, env = "WANGGE_GATEWAY_SECRET", global = true, hide_env_values = true)]
    pub gateway_secret: Option<String>,
    /// The address residents reach the site at (https://wangge.example.gov.cn), for the links
    /// printed on house plates; without it, the address of the browser that prints them.
    #[arg(long, env = "WANGGE_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Log level: error, warn, info, debug or trace.
    #[arg(long, env = "WANGGE_LOG", default_value = "info", global = true)]
    pub log: String,
}

impl Settings {
    pub fn log_level(&self) -> tracing::Level {
        self.log.parse().unwrap_or(tracing::Level::INFO)
    }

    /// The SQLite URL of a file under the data directory, which is created if missing.
    pub fn sqlite_url(&self, file: &str) -> anyhow::Result<String> {
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("creating the data directory {}", self.data_dir.display()))?;
        Ok(format!("sqlite://{}", self.data_dir.join(file).display()))
    }

    /// The server configuration; `default_file` names the SQLite file when no URL is given.
    pub fn server_config(&self, default_file: Option<&str>) -> anyhow::Result<wangge_server::Config> {
        let url = match &self.database_url {
            Some(u) => u.clone(),
            None => self.sqlite_url(default_file.unwrap_or("wangge.db"))?,
        };
        let mut config = wangge_server::Config::for_database(url);
        config.bind = self.bind;
        config.hash_key = self.hash_key()?;
        config.data_key = self.data_key()?;
        config.code_widths = self.code_widths;
        config.session_ttl_seconds = self.session_minutes.max(1) * 60;
        config.secure_cookies = !self.insecure_cookies;
        config.gateway_url = self.gateway_url.clone();
        config.gateway_secret = self.gateway_secret.clone();
        config.public_url = self.public_url.clone();
        Ok(config)
    }

    /// The one password of the demo's people in charge: WANGGE_DEMO_PASSWORD, or one made
    /// when the demo database was built and kept beside it.
    pub fn demo_password(&self, database_file: &str) -> anyhow::Result<String> {
        if let Ok(p) = std::env::var("WANGGE_DEMO_PASSWORD")
            && p.len() >= 10
        {
            return Ok(p);
        }
        std::fs::create_dir_all(&self.data_dir)?;
        let path = self.data_dir.join(format!("{database_file}.password"));
        if let Ok(p) = std::fs::read_to_string(&path) {
            return Ok(p.trim().to_string());
        }
        let p = wangge_store::accounts::random_token()[..12].to_string();
        write_private(&path, p.as_bytes())?;
        Ok(p)
    }

    fn hash_key(&self) -> anyhow::Result<Vec<u8>> {
        if let Some(k) = &self.secret_key {
            anyhow::ensure!(k.len() >= 16, "WANGGE_SECRET_KEY must have at least 16 characters");
            return Ok(k.as_bytes().to_vec());
        }
        std::fs::create_dir_all(&self.data_dir)?;
        let path = self.data_dir.join("secret.key");
        if let Ok(k) = std::fs::read(&path) {
            return Ok(k);
        }
        let mut key = vec![0u8; 32];
        use std::io::Read;
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut key))
            .context("reading random bytes for the secret key")?;
        write_private(&path, &key).with_context(|| format!("writing {}", path.display()))?;
        Ok(key)
    }

    fn data_key(&self) -> anyhow::Result<[u8; 32]> {
        if let Some(k) = &self.data_key {
            return parse_data_key(k).context("WANGGE_DATA_KEY must be 64 hex digits (32 bytes)");
        }
        std::fs::create_dir_all(&self.data_dir)?;
        let path = self.data_dir.join("data.key");
        // Kept as hex text, so that an operator can copy it into WANGGE_DATA_KEY.
        if let Ok(text) = std::fs::read_to_string(&path) {
            return parse_data_key(&text).with_context(|| format!("{} must hold 64 hex digits", path.display()));
        }
        let mut key = [0u8; 32];
        use std::io::Read;
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut key))
            .context("reading random bytes for the data key")?;
        let text: String = key.iter().map(|b| format!("{b:02x}")).collect();
        write_private(&path, format!("{text}\n").as_bytes()).with_context(|| format!("writing {}", path.display()))?;
        Ok(key)
    }
}

fn parse_data_key(s: &str) -> anyhow::Result<[u8; 32]> {
    let s = s.trim();
    anyhow::ensure!(s.len() == 64 && s.bytes().all(|c| c.is_ascii_hexdigit()), "expected 64 hex digits");
    let mut key = [0u8; 32];
    for (i, b) in key.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16)?;
    }
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_key_is_made_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("wangge-key-{}", std::process::id()));
        let s = Settings {
            database_url: None,
            data_dir: dir.clone(),
            bind: "127.0.0.1:0".parse().unwrap(),
            secret_key: None,
            data_key: None,
            code_widths: CodeWidths::default(),
            session_minutes: 720,
            insecure_cookies: false,
            gateway_url: None,
            gateway_secret: None,
            public_url: None,
            log: "info".into(),
        };
        let a = s.hash_key().unwrap();
        let b = s.hash_key().unwrap();
        assert_eq!(a.len(), 32);
        assert_eq!(a, b);
        let d = s.data_key().unwrap();
        assert_eq!(d, s.data_key().unwrap());
        assert_ne!(d, [0; 32]);
        let path = dir.join("data.key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let given = Settings { data_key: Some(text.trim().to_uppercase()), ..s.clone() };
        assert_eq!(given.data_key().unwrap(), d);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn data_keys_are_64_hex_digits() {
        assert_eq!(parse_data_key(&"ab".repeat(32)).unwrap(), [0xab; 32]);
        assert!(parse_data_key(&"ab".repeat(31)).is_err());
        assert!(parse_data_key(&"zz".repeat(32)).is_err());
        assert!(parse_data_key(&"é".repeat(32)).is_err());
        assert!(parse_data_key(&"+a".repeat(32)).is_err());
    }

    #[test]
    fn code_widths_parse() {
        assert_eq!(parse_widths("6,3,3,3,3,4,2"), Ok(CodeWidths::default()));
        assert_eq!(parse_widths("6, 3,3,3,2,4,2").map(|w| w.unit), Ok(2));
        assert!(parse_widths("6,3,3").is_err());
        assert!(parse_widths("6,3,3,3,3,4,x").is_err());
        assert!(parse_widths("6,3,3,3,3,4,0").is_err());
    }
}
