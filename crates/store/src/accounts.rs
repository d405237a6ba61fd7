//! Accounts, sign-in sessions, API tokens and the throttling of failed sign-ins.
//! Passwords are hashed with Argon2id; session and API tokens are random and only their
//! SHA-256 is stored, so a copy of the database cannot be used to sign in.

use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;
use wangge_core::{Caller, Permission, PostKind, Scope};

use crate::audit;
use crate::{Store, StoreError, StoreResult, now_text};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Account {
    pub id: i64,
    pub login: String,
    pub display_name: String,
    pub resident_id: Option<i64>,
    pub phone_masked: Option<String>,
    pub must_change_password: bool,
    pub disabled: bool,
    pub created_at: String,
}

const ACCOUNT_COLUMNS: &str =
    "id, login, display_name, resident_id, phone_last4, must_change_password, disabled_at, created_at";

fn account_from_row(r: &AnyRow) -> Result<Account, sqlx::Error> {
    let last4: Option<String> = r.try_get("phone_last4")?;
    let disabled: Option<String> = r.try_get("disabled_at")?;
    Ok(Account {
        id: r.try_get("id")?,
        login: r.try_get("login")?,
        display_name: r.try_get("display_name")?,
        resident_id: r.try_get("resident_id")?,
        phone_masked: last4.map(|l| format!("*******{l}")),
        must_change_password: r.try_get::<i64, _>("must_change_password")? != 0,
        disabled: disabled.is_some(),
        created_at: r.try_get("created_at")?,
    })
}

#[derive(Debug, Clone, Default)]
pub struct NewAccount {
    pub login: String,
    pub display_name: String,
    pub resident_id: Option<i64>,
    pub phone: Option<String>,
    /// None: a one-time password is made, returned once, and must be changed at first sign-in.
    pub password: Option<String>,
}

/// A signed-in session as the HTTP layer needs it.
#[derive(Debug, Clone)]
pub struct Session {
    pub account: Account,
    pub caller: Option<Caller>,
    pub csrf_token: String,
}

/// Failed sign-ins allowed per login, and per address, in the throttle window.
pub const MAX_FAILURES_PER_LOGIN: i64 = 5;
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;
pub const THROTTLE_MINUTES: i64 = 15;

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("wrong login or password")]
    Wrong,
    #[error("too many failed sign-ins: wait {THROTTLE_MINUTES} minutes and try again")]
    Throttled,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A random token of 32 bytes, as hex.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    hex(&b)
}

/// A random code of `len` characters a person can read out on the phone: digits and capitals
/// without 0, 1, I and O, five bits each.
pub fn short_code(len: usize) -> String {
    const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut b = vec![0u8; len];
    OsRng.fill_bytes(&mut b);
    b.iter().map(|x| char::from(ALPHABET[usize::from(x & 31)])).collect()
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// An Argon2id hash in PHC form (`$argon2id$v=19$…`).
pub fn hash_password(password: &str) -> StoreResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Config(format!("hashing a password: {e}")))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// Passwords are at least 10 characters.
pub fn checked_password(p: &str) -> StoreResult<()> {
    if p.chars().count() < 10 {
        return Err(StoreError::invalid("password", "too_short", "a password has at least 10 characters"));
    }
    Ok(())
}

pub(crate) fn checked_login(login: &str) -> StoreResult<String> {
    let l = login.trim().to_lowercase();
    let ok = (2..=40).contains(&l.len())
        && l.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && l.starts_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(l)
    } else {
        Err(StoreError::invalid(
            "login",
            "bad_login",
            "a login is 2-40 letters, digits, dots, dashes or underscores, starting with a letter or digit",
        ))
    }
}

fn minutes_ago(m: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(m)).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl Store {
    pub async fn account(&self, id: i64) -> StoreResult<Account> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| account_from_row(&r)).transpose()?.ok_or_else(|| StoreError::not_found("account", id))
    }

    pub async fn account_by_login(&self, login: &str) -> StoreResult<Account> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE login = $1")))
            .bind(login.trim().to_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| account_from_row(&r)).transpose()?.ok_or_else(|| StoreError::not_found("account", login))
    }

    pub async fn count_accounts(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM accounts").fetch_one(&self.pool).await?)
    }

    /// Creates an account; returns it with the one-time password when none was given.
    /// Creating accounts is part of managing posts.
    pub async fn create_account(&self, caller: &Caller, new: NewAccount) -> StoreResult<(Account, Option<String>)> {
        audit::require(caller, Permission::ManagePosts)?;
        let login = checked_login(&new.login)?;
        let name = crate::areas::checked_name("display_name", &new.display_name)?;
        let (password, one_time) = match &new.password {
            Some(p) => {
                checked_password(p)?;
                (p.clone(), None)
            }
            None => {
                let p = random_token()[..16].to_string();
                (p.clone(), Some(p))
            }
        };
        let phone = match new.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) if wangge_core::registry::valid_phone(p) => Some(p.to_string()),
            Some(_) => {
                return Err(StoreError::invalid("phone", "bad_phone", "phone must be a mobile or landline number"));
            }
            None => None,
        };
        let hash = hash_password(&password)?;
        let mut tx = self.write_tx().await?;
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM accounts WHERE login = $1")
            .bind(&login)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::conflict(Some("login"), "login_taken", format!("the login {login} is taken")));
        }
        let now = now_text();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (login, display_name, resident_id, phone_sealed, phone_hash, phone_last4, password_hash, \
             must_change_password, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        )
        .bind(&login)
        .bind(&name)
        .bind(new.resident_id)
        .bind(phone.as_deref().map(|p| self.seal(p)))
        .bind(phone.as_deref().map(|p| self.keyed_hash(p)))
        .bind(phone.as_deref().map(|p| p[p.len().saturating_sub(4)..].to_string()))
        .bind(&hash)
        .bind(i64::from(one_time.is_some()))
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        audit::record(&mut tx, caller, "create", "account", Some(id), caller.scope().root_path(), None, Some(login))
            .await?;
        tx.commit().await?;
        Ok((self.account(id).await?, one_time))
    }

    /// Disables an account and ends its sessions.
    pub async fn disable_account(&self, caller: &Caller, id: i64) -> StoreResult<Account> {
        audit::require(caller, Permission::ManagePosts)?;
        self.ensure_account_below(caller, id).await?;
        let mut tx = self.write_tx().await?;
        let now = now_text();
        sqlx::query("UPDATE accounts SET disabled_at = $1, updated_at = $1 WHERE id = $2 AND disabled_at IS NULL")
            .bind(&now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE sessions SET ended_at = $1 WHERE account_id = $2 AND ended_at IS NULL")
            .bind(&now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit::record(&mut tx, caller, "disable", "account", Some(id), caller.scope().root_path(), None, None).await?;
        tx.commit().await?;
        self.account(id).await
    }

    /// Sets a new one-time password, ends the account's sessions, and returns the password.
    pub async fn reset_password(&self, caller: &Caller, id: i64) -> StoreResult<String> {
        audit::require(caller, Permission::ManagePosts)?;
        self.ensure_account_below(caller, id).await?;
        let password = random_token()[..16].to_string();
        let hash = hash_password(&password)?;
        let mut tx = self.write_tx().await?;
        let now = now_text();
        sqlx::query("UPDATE accounts SET password_hash = $1, must_change_password = 1, updated_at = $2 WHERE id = $3")
            .bind(&hash)
            .bind(&now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE sessions SET ended_at = $1 WHERE account_id = $2 AND ended_at IS NULL")
            .bind(&now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit::record(&mut tx, caller, "reset_password", "account", Some(id), caller.scope().root_path(), None, None)
            .await?;
        tx.commit().await?;
        Ok(password)
    }

    /// The account holder changes their own password.
    pub async fn change_password(&self, account_id: i64, old: &str, new: &str) -> StoreResult<()> {
        let hash: String = sqlx::query_scalar("SELECT password_hash FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_one(&self.pool)
            .await?;
        if !verify_password(old, &hash) {
            return Err(StoreError::invalid("old_password", "wrong_password", "the current password is wrong"));
        }
        checked_password(new)?;
        sqlx::query("UPDATE accounts SET password_hash = $1, must_change_password = 0, updated_at = $2 WHERE id = $3")
            .bind(hash_password(new)?)
            .bind(now_text())
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// An account, for its holder or for a manager of all its posts.
    pub async fn account_in_scope(&self, caller: &Caller, id: i64) -> StoreResult<Account> {
        if caller.account_id != Some(id) {
            audit::require(caller, Permission::ManagePosts)?;
            self.ensure_account_below(caller, id).await?;
        }
        self.account(id).await
    }

    /// A caller may manage an account only when every open post of it lies inside the
    /// caller's scope (an account with no post yet is anyone's with the right).
    async fn ensure_account_below(&self, caller: &Caller, id: i64) -> StoreResult<()> {
        self.account(id).await?;
        let paths: Vec<String> =
            sqlx::query_scalar("SELECT area_path FROM posts WHERE account_id = $1 AND ended_on IS NULL")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        if paths.iter().all(|p| caller.scope().contains_path(p)) {
            Ok(())
        } else {
            Err(StoreError::not_found("account", id))
        }
    }

    /// Checks a password, with throttling per login and per address. On success opens a
    /// session of `ttl_seconds` as the account's first open post, and returns its token.
    pub async fn sign_in(
        &self,
        login: &str,
        password: &str,
        address: &str,
        ttl_seconds: i64,
    ) -> Result<(String, Session), SignInError> {
        let login = login.trim().to_lowercase();
        let since = minutes_ago(THROTTLE_MINUTES);
        let by_login: i64 = sqlx::query_scalar("SELECT count(*) FROM sign_in_failures WHERE login = $1 AND at >= $2")
            .bind(&login)
            .bind(&since)
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from)?;
        let by_address: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sign_in_failures WHERE address = $1 AND at >= $2")
                .bind(address)
                .bind(&since)
                .fetch_one(&self.pool)
                .await
                .map_err(StoreError::from)?;
        if by_login >= MAX_FAILURES_PER_LOGIN || by_address >= MAX_FAILURES_PER_ADDRESS {
            return Err(SignInError::Throttled);
        }
        let row = sqlx::query("SELECT id, password_hash, disabled_at FROM accounts WHERE login = $1")
            .bind(&login)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::from)?;
        let ok = match &row {
            Some(r) => {
                let hash: String = r.try_get("password_hash").map_err(StoreError::from)?;
                let disabled: Option<String> = r.try_get("disabled_at").map_err(StoreError::from)?;
                disabled.is_none() && verify_password(password, &hash)
            }
            None => {
                // Spend the same time as a real check, so that timing does not tell logins apart.
                let _ = hash_password(password);
                false
            }
        };
        let Some(row) = row.filter(|_| ok) else {
            sqlx::query("INSERT INTO sign_in_failures (login, address, at) VALUES ($1, $2, $3)")
                .bind(&login)
                .bind(address)
                .bind(now_text())
                .execute(&self.pool)
                .await
                .map_err(StoreError::from)?;
            return Err(SignInError::Wrong);
        };
        let account_id: i64 = row.try_get("id").map_err(StoreError::from)?;
        let post: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM posts WHERE account_id = $1 AND ended_on IS NULL ORDER BY is_primary DESC, id LIMIT 1",
        )
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?;
        let token = random_token();
        let csrf = random_token();
        let expires =
            (chrono::Utc::now() + chrono::Duration::seconds(ttl_seconds)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
        sqlx::query(
            "INSERT INTO sessions (token_hash, account_id, post_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash(&token))
        .bind(account_id)
        .bind(post)
        .bind(&csrf)
        .bind(now_text())
        .bind(&expires)
        .execute(&self.pool)
        .await
        .map_err(StoreError::from)?;
        let session = self.session(&token).await?.ok_or(SignInError::Wrong)?;
        Ok((token, session))
    }

    /// The live session of a token: not ended, not expired, account not disabled.
    pub async fn session(&self, token: &str) -> StoreResult<Option<Session>> {
        let row = sqlx::query(
            "SELECT s.account_id, s.post_id, s.csrf_token FROM sessions s JOIN accounts a ON a.id = s.account_id \
             WHERE s.token_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2 AND a.disabled_at IS NULL",
        )
        .bind(token_hash(token))
        .bind(now_text())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let account = self.account(row.try_get("account_id")?).await?;
        let post: Option<i64> = row.try_get("post_id")?;
        let caller = match post {
            Some(p) => self.caller_for_post(account.id, p).await?,
            None => None,
        };
        Ok(Some(Session { account, caller, csrf_token: row.try_get("csrf_token")? }))
    }

    pub async fn end_session(&self, token: &str) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET ended_at = $1 WHERE token_hash = $2 AND ended_at IS NULL")
            .bind(now_text())
            .bind(token_hash(token))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Acts through another of the account's open posts from now on.
    pub async fn switch_post(&self, token: &str, account_id: i64, post_id: i64) -> StoreResult<Session> {
        if self.caller_for_post(account_id, post_id).await?.is_none() {
            return Err(StoreError::invalid("post_id", "not_your_post", format!("post {post_id} is not one of yours")));
        }
        sqlx::query("UPDATE sessions SET post_id = $1 WHERE token_hash = $2")
            .bind(post_id)
            .bind(token_hash(token))
            .execute(&self.pool)
            .await?;
        self.session(token).await?.ok_or_else(|| StoreError::not_found("session", "current"))
    }

    /// The caller an account is through one of its open posts, if it holds it.
    pub async fn caller_for_post(&self, account_id: i64, post_id: i64) -> StoreResult<Option<Caller>> {
        let row =
            sqlx::query("SELECT kind, area_path FROM posts WHERE id = $1 AND account_id = $2 AND ended_on IS NULL")
                .bind(post_id)
                .bind(account_id)
                .fetch_optional(&self.pool)
                .await?;
        let Some(row) = row else { return Ok(None) };
        let kind: String = row.try_get("kind")?;
        let path: String = row.try_get("area_path")?;
        let kind = PostKind::parse(&kind).ok_or_else(|| crate::areas::decode_err("kind", &kind))?;
        Ok(Some(Caller::for_post(account_id, post_id, kind, Scope::subtree(path))))
    }

    /// Creates an API token bound to one of the caller's posts (or, for managers, a post
    /// inside their scope); returns the token once.
    pub async fn create_api_token(&self, caller: &Caller, post_id: i64, name: &str) -> StoreResult<(i64, String)> {
        let name = crate::areas::checked_name("name", name)?;
        let path: Option<String> = sqlx::query_scalar("SELECT area_path FROM posts WHERE id = $1 AND ended_on IS NULL")
            .bind(post_id)
            .fetch_optional(&self.pool)
            .await?;
        let own = caller.post_id == Some(post_id);
        let Some(path) =
            path.filter(|p| own || (caller.can(Permission::ManagePosts) && caller.scope().contains_path(p)))
        else {
            return Err(StoreError::missing_ref(
                "post_id",
                "unknown_post",
                format!("there is no post {post_id} you may use"),
            ));
        };
        let token = random_token();
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (token_hash, name, post_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(token_hash(&token))
        .bind(&name)
        .bind(post_id)
        .bind(caller.account_id)
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await?;
        audit::record(&mut tx, caller, "create", "api_token", Some(id), &path, None, Some(name)).await?;
        tx.commit().await?;
        Ok((id, token))
    }

    pub async fn revoke_api_token(&self, caller: &Caller, id: i64) -> StoreResult<()> {
        let row = sqlx::query(
            "SELECT p.area_path, t.created_by FROM api_tokens t JOIN posts p ON p.id = t.post_id WHERE t.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Err(StoreError::not_found("api_token", id)) };
        let path: String = row.try_get("area_path")?;
        let by: Option<i64> = row.try_get("created_by")?;
        let mine = by.is_some() && by == caller.account_id;
        if !(mine || (caller.can(Permission::ManagePosts) && caller.scope().contains_path(&path))) {
            return Err(StoreError::not_found("api_token", id));
        }
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_text())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit::record(&mut tx, caller, "revoke", "api_token", Some(id), &path, None, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The caller an API token acts as, if it is live and its post open.
    /// One statement: every API request asks it.
    pub async fn caller_for_api_token(&self, token: &str) -> StoreResult<Option<Caller>> {
        let row = sqlx::query(CALLER_FOR_TOKEN).bind(token_hash(token)).fetch_optional(&self.pool).await?;
        let Some(row) = row else { return Ok(None) };
        let kind: String = row.try_get("kind")?;
        let kind = PostKind::parse(&kind).ok_or_else(|| crate::areas::decode_err("kind", &kind))?;
        let path: String = row.try_get("area_path")?;
        Ok(Some(Caller::for_post(row.try_get("account_id")?, row.try_get("post_id")?, kind, Scope::subtree(path))))
    }
}

/// The post an API token acts for. The token's post is found first, by the subquery:
/// joined, PostgreSQL without statistics began with the accounts and went through every post
/// of each.
pub(crate) const CALLER_FOR_TOKEN: &str = "SELECT p.id AS post_id, p.account_id, p.kind, p.area_path FROM posts p \
     JOIN accounts a ON a.id = p.account_id \
     WHERE p.id = (SELECT t.post_id FROM api_tokens t WHERE t.token_hash = $1 AND t.revoked_at IS NULL) \
     AND p.ended_on IS NULL AND a.disabled_at IS NULL";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert_ne!(h, hash_password("correct horse battery").unwrap(), "salted");
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = random_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_token());
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), a);
        assert!(checked_login("Zheng.GZ").is_ok());
        assert!(checked_login("-x").is_err());
        assert!(checked_password("short").is_err());
    }
}
