//! A tenant's directory: users, device tokens, document facts, breadcrumbs and
//! blob records, in the tenant's SQLite file next to the document chunks.
//!
//! Blocking API (rusqlite), shared by the admin CLI (which may run while the
//! server does: WAL and a busy timeout make that safe) and the server.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use ruta_domain::{Role, UserId};
use ruta_model::Principal;
use ruta_model::access::DocFacts;
use ruta_model::enrolment::{self, Code};
use ruta_model::sha256_hex;

/// File name of a tenant's store inside `DATA/tenants/<tenant>/`.
pub const STORE_FILE: &str = "store.sqlite3";

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("store: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("{0}")]
    Invalid(String),
    #[error("tenant {0:?} does not exist (create it with `sync-server tenant create`)")]
    NoTenant(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Why a token was not accepted. Deliberately coarse towards the peer; the
/// server log says which.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenProblem {
    #[error("malformed token")]
    Malformed,
    #[error("unknown token")]
    Unknown,
    #[error("token expired")]
    Expired,
    #[error("token revoked")]
    Revoked,
    #[error("token bound to another device")]
    OtherDevice,
    #[error("user disabled")]
    Disabled,
}

/// Why an enrolment code was not exchanged, as the API names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnrolProblem {
    #[error("no such enrolment code: check it, or ask your admin for a new one")]
    Unknown,
    #[error("this enrolment code was already used: ask your admin for a new one")]
    Used,
    #[error("this enrolment code has expired: ask your admin for a new one")]
    Expired,
    #[error("this device belongs to another user; forget it on the device first")]
    DeviceOfAnotherUser,
    #[error("this user is disabled: ask your admin")]
    UserDisabled,
}

impl EnrolProblem {
    pub fn code(self) -> &'static str {
        match self {
            EnrolProblem::Unknown => "code-unknown",
            EnrolProblem::Used => "code-used",
            EnrolProblem::Expired => "code-expired",
            EnrolProblem::DeviceOfAnotherUser => "device-of-another-user",
            EnrolProblem::UserDisabled => "user-disabled",
        }
    }
}

/// A device as admins see it: (device, user, first seen, any live token).
pub type DeviceRow = (String, String, i64, bool);

/// A user as the directory knows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub role: Role,
    pub name: String,
    pub index_doc: Option<String>,
    pub courier_doc: Option<String>,
}

/// An authenticated token: who, and which token (for the peer id and revocation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated {
    pub principal: Principal,
    pub token_id: String,
    /// When the token stops being valid (ms since the epoch), if ever.
    pub expires_ms: Option<i64>,
}

/// (token id, user, created, expires, revoked).
pub type TokenRow = (String, String, i64, Option<i64>, Option<i64>);
/// (token id, user, role, expires, revoked, device).
type AuthRow = (
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

pub fn tenant_dir(data: &Path, tenant: &str) -> PathBuf {
    data.join("tenants").join(tenant)
}

pub fn valid_tenant_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn valid_user_id(id: &str) -> bool {
    ruta_model::valid_user_id(id)
}

/// The tenant a token names (`rt_<tenant>_<secret>`), without checking it.
pub fn tenant_of_token(token: &str) -> Option<&str> {
    let rest = token.strip_prefix("rt_")?;
    let (tenant, secret) = rest.rsplit_once('_')?;
    (valid_tenant_name(tenant) && secret.len() == 64).then_some(tenant)
}

fn role_str(role: Role) -> String {
    ruta_domain::enum_str(&role)
}

/// A role by its name (`client`, `dispatcher`, `courier`, `admin`).
pub fn parse_role(s: &str) -> Result<Role, DirectoryError> {
    serde_json::from_value(serde_json::Value::String(s.into())).map_err(|_| {
        DirectoryError::Invalid(format!(
            "unknown role {s:?} (client, dispatcher, courier, admin)"
        ))
    })
}

/// One tenant's directory (a connection to its store file).
#[derive(Debug)]
pub struct Directory {
    conn: Mutex<Connection>,
    pub path: PathBuf,
}

impl Directory {
    /// Creates the tenant's directory and store. Fails if it exists.
    pub fn create(data: &Path, tenant: &str) -> Result<Self, DirectoryError> {
        if !valid_tenant_name(tenant) {
            return Err(DirectoryError::Invalid(format!(
                "tenant name {tenant:?}: use 1-32 of a-z, 0-9 and '-'"
            )));
        }
        let dir = tenant_dir(data, tenant);
        if dir.join(STORE_FILE).exists() {
            return Err(DirectoryError::Invalid(format!(
                "tenant {tenant:?} already exists"
            )));
        }
        std::fs::create_dir_all(dir.join("blobs"))?;
        Self::open_file(&dir.join(STORE_FILE))
    }

    /// Opens an existing tenant.
    pub fn open(data: &Path, tenant: &str) -> Result<Self, DirectoryError> {
        let path = tenant_dir(data, tenant).join(STORE_FILE);
        if !valid_tenant_name(tenant) || !path.exists() {
            return Err(DirectoryError::NoTenant(tenant.into()));
        }
        Self::open_file(&path)
    }

    fn open_file(path: &Path) -> Result<Self, DirectoryError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS users (
                 id TEXT PRIMARY KEY, role TEXT NOT NULL, name TEXT NOT NULL,
                 index_doc TEXT, courier_doc TEXT, created_ms INTEGER NOT NULL
             ) STRICT;
             CREATE TABLE IF NOT EXISTS tokens (
                 id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
                 hash TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL,
                 expires_ms INTEGER, revoked_ms INTEGER
             ) STRICT;
             CREATE TABLE IF NOT EXISTS doc_facts (
                 doc_id TEXT PRIMARY KEY, facts TEXT NOT NULL
             ) STRICT;
             CREATE TABLE IF NOT EXISTS breadcrumbs (
                 courier TEXT NOT NULL, at_ms INTEGER NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL,
                 PRIMARY KEY (courier, at_ms)
             ) STRICT, WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS blobs (
                 hash TEXT PRIMARY KEY, size INTEGER NOT NULL, uploader TEXT NOT NULL,
                 created_ms INTEGER NOT NULL
             ) STRICT;
             CREATE TABLE IF NOT EXISTS blob_refs (
                 hash TEXT NOT NULL, doc TEXT NOT NULL, sender TEXT NOT NULL,
                 PRIMARY KEY (hash, doc, sender)
             ) STRICT, WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS blob_refs_doc ON blob_refs (doc);
             CREATE TABLE IF NOT EXISTS refusals (
                 at_ms INTEGER NOT NULL, user_id TEXT NOT NULL, doc_id TEXT, reason TEXT NOT NULL
             ) STRICT;
             -- Final invoice numbers: this server is the tenant's only allocator, so
             -- numbers are gapless (see ARCHITECTURE.md, \"Invoice numbers\").
             CREATE TABLE IF NOT EXISTS settings (
                 key TEXT PRIMARY KEY, value TEXT NOT NULL
             ) STRICT;
             CREATE TABLE IF NOT EXISTS invoice_numbers (
                 order_id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, assigned_ms INTEGER NOT NULL
             ) STRICT;
             -- Which user a device (the `actor.device` of events, whose node keys
             -- them) belongs to: the first user whose write names it.
             CREATE TABLE IF NOT EXISTS devices (
                 device TEXT PRIMARY KEY, user_id TEXT NOT NULL, first_ms INTEGER NOT NULL
             ) STRICT;
             -- One-time enrolment codes (hashed): exchanged once for a device token.
             CREATE TABLE IF NOT EXISTS enrolments (
                 hash TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
                 created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,
                 used_ms INTEGER, used_device TEXT
             ) STRICT;",
        )?;
        // Tokens from enrolment are bound to the device they were issued to.
        let has_device: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('tokens') WHERE name = 'device'")?
            .exists([])?;
        if !has_device {
            conn.execute_batch("ALTER TABLE tokens ADD COLUMN device TEXT")?;
        }
        // Users an admin disabled, and when a user's role or state last changed
        // (live sessions re-check their user when it moves).
        let has_disabled: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('users') WHERE name = 'disabled_ms'")?
            .exists([])?;
        if !has_disabled {
            conn.execute_batch(
                "ALTER TABLE users ADD COLUMN disabled_ms INTEGER;
                 ALTER TABLE users ADD COLUMN changed_ms INTEGER NOT NULL DEFAULT 0;",
            )?;
        }
        Ok(Self {
            conn: Mutex::new(conn),
            path: path.to_owned(),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn add_user(
        &self,
        id: &str,
        role: Role,
        name: &str,
        now_ms: i64,
    ) -> Result<(), DirectoryError> {
        if !valid_user_id(id) {
            return Err(DirectoryError::Invalid(format!(
                "user id {id:?}: use 1-64 of letters, digits and - _ . @"
            )));
        }
        let added = self.conn().execute(
            "INSERT INTO users (id, role, name, created_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO NOTHING",
            params![id, role_str(role), name, now_ms],
        )?;
        if added == 0 {
            return Err(DirectoryError::Invalid(format!(
                "user {id:?} already exists"
            )));
        }
        Ok(())
    }

    pub fn users(&self) -> Result<Vec<User>, DirectoryError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT id, role, name, index_doc, courier_doc FROM users ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, role, name, index_doc, courier_doc) = row?;
            out.push(User {
                id: UserId::new(id),
                role: parse_role(&role)?,
                name,
                index_doc,
                courier_doc,
            });
        }
        Ok(out)
    }

    /// The users an admin disabled.
    pub fn disabled_users(&self) -> Result<Vec<String>, DirectoryError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT id FROM users WHERE disabled_ms IS NOT NULL ORDER BY id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Changes a user's role and/or disables or enables them. Their live
    /// sessions end within seconds (the tokens stamp moves); they sign in
    /// again with the new role, or, disabled, cannot.
    pub fn update_user(
        &self,
        id: &UserId,
        role: Option<Role>,
        disabled: Option<bool>,
        now_ms: i64,
    ) -> Result<(), DirectoryError> {
        let conn = self.conn();
        let n = conn.execute(
            "UPDATE users SET
                 role = coalesce(?2, role),
                 disabled_ms = CASE ?3 WHEN 1 THEN coalesce(disabled_ms, ?4) WHEN 0 THEN NULL ELSE disabled_ms END,
                 changed_ms = ?4
             WHERE id = ?1",
            params![id.as_str(), role.map(role_str), disabled, now_ms],
        )?;
        if n == 0 {
            return Err(DirectoryError::Invalid(format!(
                "no user {:?}",
                id.as_str()
            )));
        }
        Ok(())
    }

    pub fn user(&self, id: &UserId) -> Result<Option<User>, DirectoryError> {
        Ok(self.users()?.into_iter().find(|u| u.id == *id))
    }

    pub fn set_user_docs(
        &self,
        id: &UserId,
        index: &str,
        courier: Option<&str>,
    ) -> Result<(), DirectoryError> {
        self.conn().execute(
            "UPDATE users SET index_doc = ?2, courier_doc = ?3 WHERE id = ?1",
            params![id.as_str(), index, courier],
        )?;
        Ok(())
    }

    /// Issues a token for `user`; returns (token id, the token). The token is
    /// shown once: only its hash is stored.
    pub fn issue_token(
        &self,
        tenant: &str,
        user: &str,
        expires_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<(String, String), DirectoryError> {
        if self.user(&UserId::new(user))?.is_none() {
            return Err(DirectoryError::Invalid(format!(
                "no user {user:?} in tenant {tenant:?}"
            )));
        }
        Ok(insert_token(
            &self.conn(),
            tenant,
            user,
            None,
            expires_ms,
            now_ms,
        )?)
    }

    /// Issues a one-time enrolment code for `user`, valid for `ttl_ms`.
    /// Returns the code (shown once: only its hash is stored) and its expiry.
    pub fn issue_enrolment(
        &self,
        tenant: &str,
        user: &str,
        ttl_ms: i64,
        now_ms: i64,
    ) -> Result<(Code, i64), DirectoryError> {
        if self.user(&UserId::new(user))?.is_none() {
            return Err(DirectoryError::Invalid(format!(
                "no user {user:?} in tenant {tenant:?}"
            )));
        }
        let code = loop {
            let mut random = [0u8; enrolment::RANDOM_SYMBOLS];
            rand::fill(&mut random);
            if let Some(code) = Code::new(tenant, random) {
                break code;
            }
        };
        let expires = now_ms + ttl_ms;
        self.conn().execute(
            "INSERT INTO enrolments (hash, user_id, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4)",
            params![code.hash(), user, now_ms, expires],
        )?;
        Ok((code, expires))
    }

    /// Exchanges an enrolment code for a token bound to `device`, in one
    /// transaction: a code works once, however many devices race for it.
    /// Returns (token, user, role).
    pub fn redeem_enrolment(
        &self,
        tenant: &str,
        code: &Code,
        device: &str,
        now_ms: i64,
    ) -> Result<Result<(String, User), EnrolProblem>, DirectoryError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let row: Option<(String, i64, Option<i64>)> = tx
            .query_row(
                "SELECT user_id, expires_ms, used_ms FROM enrolments WHERE hash = ?1",
                params![code.hash()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((user, expires, used)) = row else {
            return Ok(Err(EnrolProblem::Unknown));
        };
        if used.is_some() {
            return Ok(Err(EnrolProblem::Used));
        }
        if expires <= now_ms {
            return Ok(Err(EnrolProblem::Expired));
        }
        let disabled: Option<i64> = tx.query_row(
            "SELECT disabled_ms FROM users WHERE id = ?1",
            params![user],
            |r| r.get(0),
        )?;
        if disabled.is_some() {
            return Ok(Err(EnrolProblem::UserDisabled));
        }
        let owner: Option<String> = tx
            .query_row(
                "SELECT user_id FROM devices WHERE device = ?1",
                params![device],
                |r| r.get(0),
            )
            .optional()?;
        if owner.as_ref().is_some_and(|o| *o != user) {
            return Ok(Err(EnrolProblem::DeviceOfAnotherUser));
        }
        tx.execute(
            "INSERT OR IGNORE INTO devices (device, user_id, first_ms) VALUES (?1, ?2, ?3)",
            params![device, user, now_ms],
        )?;
        tx.execute(
            "UPDATE enrolments SET used_ms = ?2, used_device = ?3 WHERE hash = ?1",
            params![code.hash(), now_ms, device],
        )?;
        let (_, token) = insert_token(&tx, tenant, &user, Some(device), None, now_ms)?;
        let (role, name): (String, String) = tx.query_row(
            "SELECT role, name FROM users WHERE id = ?1",
            params![user],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        tx.commit()?;
        Ok(Ok((
            token,
            User {
                id: UserId::new(user),
                role: parse_role(&role)?,
                name,
                index_doc: None,
                courier_doc: None,
            },
        )))
    }

    /// Revokes every token bound to `device`; how many were live.
    pub fn revoke_device(&self, device: &str, now_ms: i64) -> Result<usize, DirectoryError> {
        Ok(self.conn().execute(
            "UPDATE tokens SET revoked_ms = ?2 WHERE device = ?1 AND revoked_ms IS NULL",
            params![device, now_ms],
        )?)
    }

    /// Every device that claimed a user, with whether a token bound to it is live.
    pub fn devices(&self, now_ms: i64) -> Result<Vec<DeviceRow>, DirectoryError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT d.device, d.user_id, d.first_ms,
                    EXISTS (SELECT 1 FROM tokens t WHERE t.device = d.device AND t.revoked_ms IS NULL
                            AND (t.expires_ms IS NULL OR t.expires_ms > ?1))
             FROM devices d ORDER BY d.user_id, d.first_ms",
        )?;
        let rows = stmt.query_map(params![now_ms], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn revoke_token(&self, id: &str, now_ms: i64) -> Result<(), DirectoryError> {
        let n = self.conn().execute(
            "UPDATE tokens SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms IS NULL",
            params![id, now_ms],
        )?;
        if n == 0 {
            return Err(DirectoryError::Invalid(format!(
                "no active token with id {id:?}"
            )));
        }
        Ok(())
    }

    /// (token id, user, created, expires, revoked) for `token list`.
    pub fn tokens(&self) -> Result<Vec<TokenRow>, DirectoryError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, user_id, created_ms, expires_ms, revoked_ms FROM tokens ORDER BY created_ms",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Checks a presented token, used by any device (tokens from `token issue`).
    pub fn authenticate(
        &self,
        token: &str,
        now_ms: i64,
    ) -> Result<Result<Authenticated, TokenProblem>, DirectoryError> {
        self.authenticate_on(token, None, now_ms)
    }

    /// Checks a token presented by `device` (the `?device=` it names): a
    /// token from enrolment works only on the device it was issued to.
    pub fn authenticate_on(
        &self,
        token: &str,
        device: Option<&str>,
        now_ms: i64,
    ) -> Result<Result<Authenticated, TokenProblem>, DirectoryError> {
        if tenant_of_token(token).is_none() {
            return Ok(Err(TokenProblem::Malformed));
        }
        let hash = sha256_hex(token.as_bytes());
        let row: Option<AuthRow> = self
            .conn()
            .query_row(
                "SELECT t.id, u.id, u.role, t.expires_ms, coalesce(t.revoked_ms, -u.disabled_ms), t.device
                 FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?1",
                params![hash],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .optional()?;
        let Some((token_id, user, role, expires, revoked, bound)) = row else {
            return Ok(Err(TokenProblem::Unknown));
        };
        match revoked {
            Some(r) if r < 0 => return Ok(Err(TokenProblem::Disabled)),
            Some(_) => return Ok(Err(TokenProblem::Revoked)),
            None => {}
        }
        if expires.is_some_and(|e| e <= now_ms) {
            return Ok(Err(TokenProblem::Expired));
        }
        if bound.is_some() && bound.as_deref() != device {
            return Ok(Err(TokenProblem::OtherDevice));
        }
        Ok(Ok(Authenticated {
            principal: Principal {
                user: UserId::new(user),
                role: parse_role(&role)?,
            },
            token_id,
            expires_ms: expires,
        }))
    }

    /// A stamp of the tokens table that changes whenever a token is issued,
    /// revoked or deleted (by this process or another, e.g. the admin CLI):
    /// live sessions re-check their own token only when it moves, instead of
    /// each polling the store (one query per tenant per tick, not per session).
    pub fn tokens_stamp(&self) -> Result<(i64, i64, i64), DirectoryError> {
        Ok(self.conn().query_row(
            "SELECT count(*), count(revoked_ms),
                    coalesce(max(revoked_ms), 0) + (SELECT coalesce(max(changed_ms), 0) FROM users)
             FROM tokens",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?)
    }

    /// Whether a session on the token with `id`, signed in as `role`, may go on:
    /// the token is live, its user not disabled and still in that role.
    pub fn session_live(&self, id: &str, role: Role, now_ms: i64) -> Result<bool, DirectoryError> {
        // (expires, revoked, user disabled, user's role).
        type SessionRow = (Option<i64>, Option<i64>, Option<i64>, String);
        let row: Option<SessionRow> = self
            .conn()
            .query_row(
                "SELECT t.expires_ms, t.revoked_ms, u.disabled_ms, u.role
                 FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        Ok(matches!(row, Some((exp, None, None, r))
            if exp.is_none_or(|e| e > now_ms) && r == role_str(role)))
    }

    /// Whether the token with `id` may still be used.
    pub fn token_live(&self, id: &str, now_ms: i64) -> Result<bool, DirectoryError> {
        let row: Option<(Option<i64>, Option<i64>)> = self
            .conn()
            .query_row(
                "SELECT expires_ms, revoked_ms FROM tokens WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(matches!(row, Some((exp, None)) if exp.is_none_or(|e| e > now_ms)))
    }

    pub fn all_facts(&self) -> Result<Vec<(String, DocFacts)>, DirectoryError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT doc_id, facts FROM doc_facts")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, json) = row?;
            let facts = serde_json::from_str(&json)
                .map_err(|e| DirectoryError::Invalid(format!("facts of {id}: {e}")))?;
            out.push((id, facts));
        }
        Ok(out)
    }

    pub fn put_facts(&self, doc: &str, facts: &DocFacts) -> Result<(), DirectoryError> {
        let json = serde_json::to_string(facts).expect("facts serialise");
        self.conn().execute(
            "INSERT INTO doc_facts (doc_id, facts) VALUES (?1, ?2)
             ON CONFLICT (doc_id) DO UPDATE SET facts = excluded.facts",
            params![doc, json],
        )?;
        Ok(())
    }

    /// Stores breadcrumb points `(courier, at_ms, lat, lon)` in one transaction.
    pub fn add_breadcrumbs(
        &self,
        points: &[(UserId, i64, f64, f64)],
    ) -> Result<(), DirectoryError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR REPLACE INTO breadcrumbs (courier, at_ms, lat, lon) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (courier, at_ms, lat, lon) in points {
                stmt.execute(params![courier.as_str(), at_ms, lat, lon])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The order's final invoice number, allocating the next one if it has none:
    /// one transaction, so numbers are 1, 2, 3, ... with no gaps and never reused.
    pub fn allocate_invoice_number(&self, order: &str) -> Result<u64, DirectoryError> {
        // Every later write to a delivered order asks again: answer those with a
        // read, which takes no write lock (the chunk store writes to the same file
        // from another connection, and a lock held here makes it wait).
        if let Some(seq) = self.invoice_number(order)? {
            return Ok(seq);
        }
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let existing: Option<i64> = tx
            .query_row(
                "SELECT seq FROM invoice_numbers WHERE order_id = ?1",
                [order],
                |r| r.get(0),
            )
            .optional()?;
        let seq = match existing {
            Some(seq) => seq,
            None => {
                let seq: i64 = tx.query_row(
                    "SELECT coalesce(max(seq), 0) + 1 FROM invoice_numbers",
                    [],
                    |r| r.get(0),
                )?;
                tx.execute(
                    "INSERT INTO invoice_numbers (order_id, seq, assigned_ms) VALUES (?1, ?2, ?3)",
                    rusqlite::params![order, seq, now_ms()],
                )?;
                seq
            }
        };
        tx.commit()?;
        Ok(seq as u64)
    }

    /// The order's final invoice number, if it has one.
    pub fn invoice_number(&self, order: &str) -> Result<Option<u64>, DirectoryError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT seq FROM invoice_numbers WHERE order_id = ?1",
                [order],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .map(|s| s as u64))
    }

    pub fn breadcrumbs(
        &self,
        courier: &UserId,
        since_ms: i64,
    ) -> Result<Vec<(i64, f64, f64)>, DirectoryError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT at_ms, lat, lon FROM breadcrumbs WHERE courier = ?1 AND at_ms >= ?2 ORDER BY at_ms",
        )?;
        let rows = stmt.query_map(params![courier.as_str(), since_ms], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn record_blob(
        &self,
        hash: &str,
        size: u64,
        uploader: &UserId,
        now_ms: i64,
    ) -> Result<(), DirectoryError> {
        self.conn().execute(
            "INSERT INTO blobs (hash, size, uploader, created_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (hash) DO NOTHING",
            params![hash, size as i64, uploader.as_str(), now_ms],
        )?;
        Ok(())
    }

    /// The tenant's POD verification secret (32 random bytes, hex), made on
    /// first use. Devices that verify deliveries derive each order's QR/PIN
    /// code from it offline (`ruta_pod::verify`).
    pub fn pod_secret(&self) -> Result<String, DirectoryError> {
        let conn = self.conn();
        let mut secret = [0u8; 32];
        rand::fill(&mut secret);
        let fresh = ruta_model::hex(&secret);
        conn.execute(
            "INSERT INTO settings (key, value) VALUES ('pod_secret', ?1) ON CONFLICT (key) DO NOTHING",
            params![fresh],
        )?;
        Ok(conn.query_row(
            "SELECT value FROM settings WHERE key = 'pod_secret'",
            [],
            |r| r.get(0),
        )?)
    }

    /// A new intake key for the tenant's web shop (the old one stops
    /// working at once). Only its SHA-256 is kept.
    pub fn rotate_intake_key(&self) -> Result<String, DirectoryError> {
        let mut random = [0u8; 24];
        rand::fill(&mut random);
        let key = format!("rik_{}", ruta_model::hex(&random));
        self.set_setting(
            "intake_key_sha256",
            &ruta_model::ids::sha256_hex(key.as_bytes()),
        )?;
        Ok(key)
    }

    /// Whether `key` is the tenant's current intake key (none: never).
    pub fn intake_key_ok(&self, key: &str) -> Result<bool, DirectoryError> {
        let Some(want) = self.setting("intake_key_sha256")? else {
            return Ok(false);
        };
        let got = ruta_model::ids::sha256_hex(key.as_bytes());
        Ok(got.len() == want.len()
            && got
                .bytes()
                .zip(want.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0)
    }

    /// A value of the tenant's settings table.
    pub fn setting(&self, key: &str) -> Result<Option<String>, DirectoryError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), DirectoryError> {
        self.conn().execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Document `doc` (a conversation) now shows exactly the files `shown`,
    /// each (hash, the user whose message shows it).
    pub fn set_blob_refs(
        &self,
        doc: &str,
        shown: &[(String, String)],
    ) -> Result<(), DirectoryError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM blob_refs WHERE doc = ?1", params![doc])?;
        for (h, sender) in shown {
            tx.execute(
                "INSERT OR IGNORE INTO blob_refs (hash, doc, sender) VALUES (?1, ?2, ?3)",
                params![h, doc, sender],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The documents that show file `hash`, each with the user whose message shows it.
    pub fn blob_docs(&self, hash: &str) -> Result<Vec<(String, String)>, DirectoryError> {
        let conn = self.conn();
        let mut st = conn.prepare("SELECT doc, sender FROM blob_refs WHERE hash = ?1")?;
        let docs = st
            .query_map(params![hash], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<(String, String)>, _>>()?;
        Ok(docs)
    }

    pub fn blob_uploader(&self, hash: &str) -> Result<Option<String>, DirectoryError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT uploader FROM blobs WHERE hash = ?1",
                params![hash],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The user `device` belongs to, claiming it for `user` if it is new.
    pub fn claim_device(
        &self,
        device: &str,
        user: &UserId,
        now_ms: i64,
    ) -> Result<UserId, DirectoryError> {
        let conn = self.conn();
        conn.execute(
            "INSERT OR IGNORE INTO devices (device, user_id, first_ms) VALUES (?1, ?2, ?3)",
            params![device, user.as_str(), now_ms],
        )?;
        let owner: String = conn.query_row(
            "SELECT user_id FROM devices WHERE device = ?1",
            params![device],
            |r| r.get(0),
        )?;
        Ok(UserId::new(owner))
    }

    pub fn log_refusal(
        &self,
        at_ms: i64,
        user: &UserId,
        doc: Option<&str>,
        reason: &str,
    ) -> Result<(), DirectoryError> {
        self.conn().execute(
            "INSERT INTO refusals (at_ms, user_id, doc_id, reason) VALUES (?1, ?2, ?3, ?4)",
            params![at_ms, user.as_str(), doc, reason],
        )?;
        Ok(())
    }

    pub fn refusals(&self) -> Result<Vec<(String, Option<String>, String)>, DirectoryError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT user_id, doc_id, reason FROM refusals ORDER BY at_ms")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Inserts a fresh token; returns (token id, the token).
fn insert_token(
    conn: &Connection,
    tenant: &str,
    user: &str,
    device: Option<&str>,
    expires_ms: Option<i64>,
    now_ms: i64,
) -> Result<(String, String), rusqlite::Error> {
    let mut secret = [0u8; 32];
    rand::fill(&mut secret);
    let hex = ruta_model::hex(&secret);
    let token = format!("rt_{tenant}_{hex}");
    let hash = sha256_hex(token.as_bytes());
    let id = hash[..12].to_owned();
    conn.execute(
        "INSERT INTO tokens (id, user_id, hash, created_ms, expires_ms, device)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, user, hash, now_ms, expires_ms, device],
    )?;
    Ok((id, token))
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_authenticate_until_revoked_or_expired_and_are_stored_hashed() {
        let data = tempfile::tempdir().unwrap();
        let dir = Directory::create(data.path(), "acme").unwrap();
        dir.add_user("c1", Role::Courier, "Cara", 0).unwrap();
        let (id, token) = dir.issue_token("acme", "c1", Some(10_000), 0).unwrap();
        assert_eq!(tenant_of_token(&token), Some("acme"));
        let ok = dir.authenticate(&token, 5).unwrap().unwrap();
        assert_eq!(ok.principal.role, Role::Courier);
        assert_eq!(ok.expires_ms, Some(10_000));
        let stamp = dir.tokens_stamp().unwrap();
        assert_eq!(
            dir.authenticate(&token, 10_000).unwrap(),
            Err(TokenProblem::Expired)
        );
        let mut wrong = token.clone();
        wrong.pop();
        wrong.push('x');
        assert_eq!(
            dir.authenticate(&wrong, 5).unwrap(),
            Err(TokenProblem::Unknown)
        );
        assert_eq!(
            dir.authenticate("hello", 5).unwrap(),
            Err(TokenProblem::Malformed)
        );
        assert_eq!(dir.tokens_stamp().unwrap(), stamp, "reads do not move it");
        dir.revoke_token(&id, 6).unwrap();
        let revoked = dir.tokens_stamp().unwrap();
        assert_ne!(revoked, stamp, "a revocation moves the stamp");
        dir.issue_token("acme", "c1", None, 8).unwrap();
        assert_ne!(dir.tokens_stamp().unwrap(), revoked, "so does a new token");
        assert_eq!(
            dir.authenticate(&token, 7).unwrap(),
            Err(TokenProblem::Revoked)
        );
        assert!(!dir.token_live(&id, 7).unwrap());
        // The secret is nowhere in the file.
        drop(dir);
        let bytes = std::fs::read(tenant_dir(data.path(), "acme").join(STORE_FILE)).unwrap();
        let secret = token.rsplit('_').next().unwrap();
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }

    #[test]
    fn an_enrolment_code_works_once_on_time_and_binds_its_token_to_the_device() {
        let data = tempfile::tempdir().unwrap();
        let dir = Directory::create(data.path(), "acme").unwrap();
        dir.add_user("c1", Role::Courier, "Cara", 0).unwrap();
        dir.add_user("c2", Role::Courier, "Cid", 0).unwrap();
        let (code, expires) = dir.issue_enrolment("acme", "c1", 1_000, 100).unwrap();
        assert_eq!(expires, 1_100);
        assert_eq!(code.tenant, "acme");
        let (token, user) = dir
            .redeem_enrolment("acme", &code, "dev-a", 200)
            .unwrap()
            .unwrap();
        assert_eq!((user.id.as_str(), user.role), ("c1", Role::Courier));
        assert_eq!(
            dir.redeem_enrolment("acme", &code, "dev-b", 201).unwrap(),
            Err(EnrolProblem::Used)
        );
        // Bound to dev-a: another device (or none) cannot use it.
        assert!(
            dir.authenticate_on(&token, Some("dev-a"), 300)
                .unwrap()
                .is_ok()
        );
        assert_eq!(
            dir.authenticate_on(&token, Some("dev-b"), 300).unwrap(),
            Err(TokenProblem::OtherDevice)
        );
        assert_eq!(
            dir.authenticate(&token, 300).unwrap(),
            Err(TokenProblem::OtherDevice)
        );
        let (late, _) = dir.issue_enrolment("acme", "c1", 1_000, 100).unwrap();
        assert_eq!(
            dir.redeem_enrolment("acme", &late, "dev-a", 1_100).unwrap(),
            Err(EnrolProblem::Expired)
        );
        let never = Code::new("acme", [3; enrolment::RANDOM_SYMBOLS])
            .or_else(|| Code::new("acme", [4; enrolment::RANDOM_SYMBOLS]))
            .unwrap();
        assert_eq!(
            dir.redeem_enrolment("acme", &never, "dev-a", 300).unwrap(),
            Err(EnrolProblem::Unknown)
        );
        // dev-a is c1's: c2's code does not take it over.
        let (other, _) = dir.issue_enrolment("acme", "c2", 1_000, 100).unwrap();
        assert_eq!(
            dir.redeem_enrolment("acme", &other, "dev-a", 300).unwrap(),
            Err(EnrolProblem::DeviceOfAnotherUser)
        );
        assert_eq!(
            dir.devices(300).unwrap(),
            vec![("dev-a".into(), "c1".into(), 200, true)]
        );
        assert_eq!(dir.revoke_device("dev-a", 400).unwrap(), 1);
        assert_eq!(
            dir.authenticate_on(&token, Some("dev-a"), 500).unwrap(),
            Err(TokenProblem::Revoked)
        );
        assert!(!dir.devices(500).unwrap()[0].3);
        // Neither the code nor the token is in the file.
        drop(dir);
        let bytes = std::fs::read(tenant_dir(data.path(), "acme").join(STORE_FILE)).unwrap();
        for secret in [
            code.to_string(),
            token.rsplit('_').next().unwrap().to_owned(),
        ] {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
        }
    }

    #[test]
    fn a_disabled_user_cannot_sign_in_and_a_role_change_ends_live_sessions() {
        let data = tempfile::tempdir().unwrap();
        let dir = Directory::create(data.path(), "acme").unwrap();
        dir.add_user("d1", Role::Dispatcher, "Dana", 0).unwrap();
        let (id, token) = dir.issue_token("acme", "d1", None, 0).unwrap();
        assert!(dir.session_live(&id, Role::Dispatcher, 1).unwrap());
        let stamp = dir.tokens_stamp().unwrap();
        dir.update_user(&UserId::new("d1"), Some(Role::Courier), None, 10)
            .unwrap();
        assert_ne!(dir.tokens_stamp().unwrap(), stamp, "sessions re-check");
        assert!(!dir.session_live(&id, Role::Dispatcher, 11).unwrap());
        assert!(dir.session_live(&id, Role::Courier, 11).unwrap());
        let who = dir.authenticate(&token, 12).unwrap().unwrap();
        assert_eq!(
            who.principal.role,
            Role::Courier,
            "the next sign-in has the new role"
        );
        dir.update_user(&UserId::new("d1"), None, Some(true), 20)
            .unwrap();
        assert_eq!(
            dir.authenticate(&token, 21).unwrap(),
            Err(TokenProblem::Disabled)
        );
        assert!(!dir.session_live(&id, Role::Courier, 21).unwrap());
        assert_eq!(dir.disabled_users().unwrap(), vec!["d1".to_owned()]);
        dir.update_user(&UserId::new("d1"), None, Some(false), 30)
            .unwrap();
        assert!(dir.authenticate(&token, 31).unwrap().is_ok());
        assert!(
            dir.update_user(&UserId::new("nobody"), None, Some(true), 40)
                .is_err()
        );
    }

    #[test]
    fn bad_names_and_duplicates_are_refused_clearly() {
        let data = tempfile::tempdir().unwrap();
        assert!(Directory::create(data.path(), "Bad Name").is_err());
        let dir = Directory::create(data.path(), "acme").unwrap();
        assert!(Directory::create(data.path(), "acme").is_err());
        dir.add_user("d1", Role::Dispatcher, "D", 0).unwrap();
        let e = dir.add_user("d1", Role::Dispatcher, "D", 0).unwrap_err();
        assert!(e.to_string().contains("already exists"));
        assert!(dir.issue_token("acme", "nobody", None, 0).is_err());
        assert!(matches!(
            Directory::open(data.path(), "other"),
            Err(DirectoryError::NoTenant(_))
        ));
    }
}
