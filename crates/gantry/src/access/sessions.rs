//! Browser sessions of visitors who signed in, in SQLite so that a restart keeps them, and
//! looked up on every request so that revoking one ends it at once.

use serde::Serialize;

use super::secret;
use crate::store::{Store, StoreError};

/// Don't write `last_seen` more often than this; idle timeouts are minutes long.
const TOUCH_EVERY_SECS: i64 = 15;

/// How the visitor proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// An account of this computer (PAM, or Windows' LogonUser).
    Os,
    /// The cloud account this client is linked to.
    Cloud,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Os => "os",
            Method::Cloud => "cloud",
        }
    }
}

/// A live session as the dashboard lists it (never with its secret).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, PartialEq)]
pub struct SessionInfo {
    pub id: i64,
    pub account: String,
    pub method: String,
    pub address: String,
    pub user_agent: Option<String>,
    pub created_at: i64,
    pub last_seen: i64,
    pub expires_at: i64,
}

/// What a request learns from a valid session cookie.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct Session {
    pub id: i64,
    pub account: String,
    pub csrf_token: String,
    last_seen: i64,
}

/// A new session: `token` goes into the cookie, `csrf_token` to the page.
#[derive(Debug)]
pub struct NewSession {
    pub id: i64,
    pub token: String,
    pub csrf_token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Random(#[from] secret::RandomError),
}

impl From<sqlx::Error> for SessionError {
    fn from(e: sqlx::Error) -> SessionError {
        SessionError::Store(StoreError::Query(e))
    }
}

pub struct Sessions {
    store: Store,
}

pub struct Creation<'a> {
    pub account: &'a str,
    pub method: Method,
    pub address: &'a str,
    pub user_agent: Option<&'a str>,
    pub tls: bool,
    pub now: i64,
    pub lifetime_secs: u64,
}

impl Sessions {
    pub fn new(store: Store) -> Sessions {
        Sessions { store }
    }

    pub async fn create(&self, c: Creation<'_>) -> Result<NewSession, SessionError> {
        let token = secret::token()?;
        let csrf_token = secret::token()?;
        let user_agent = c
            .user_agent
            .map(|ua| ua.chars().take(200).collect::<String>());
        let lifetime = i64::try_from(c.lifetime_secs).unwrap_or(i64::MAX);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO access_sessions
               (token_hash, account, method, address, user_agent, csrf_token, tls, created_at, last_seen, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9) RETURNING id",
        )
        .bind(secret::digest(&token))
        .bind(c.account)
        .bind(c.method.as_str())
        .bind(c.address)
        .bind(user_agent)
        .bind(csrf_token.clone())
        .bind(c.tls)
        .bind(c.now)
        .bind(c.now.saturating_add(lifetime))
        .fetch_one(self.store.pool())
        .await?;
        Ok(NewSession {
            id,
            token,
            csrf_token,
        })
    }

    /// The session a cookie names, if it is live: not revoked, not past its lifetime, not idle
    /// for longer than `idle_secs`.
    pub async fn find(
        &self,
        token: &str,
        now: i64,
        idle_secs: u64,
    ) -> Result<Option<Session>, SessionError> {
        let idle = i64::try_from(idle_secs).unwrap_or(i64::MAX);
        let session: Option<Session> = sqlx::query_as(
            "SELECT id, account, csrf_token, last_seen FROM access_sessions
             WHERE token_hash = ?1 AND revoked_at IS NULL AND expires_at > ?2 AND last_seen > ?3",
        )
        .bind(secret::digest(token))
        .bind(now)
        .bind(now.saturating_sub(idle))
        .fetch_optional(self.store.pool())
        .await?;
        if let Some(s) = &session {
            if now - s.last_seen >= TOUCH_EVERY_SECS {
                sqlx::query("UPDATE access_sessions SET last_seen = ?2 WHERE id = ?1")
                    .bind(s.id)
                    .bind(now)
                    .execute(self.store.pool())
                    .await?;
            }
        }
        Ok(session)
    }

    /// Live sessions, newest first.
    pub async fn list(&self, now: i64, idle_secs: u64) -> Result<Vec<SessionInfo>, SessionError> {
        let idle = i64::try_from(idle_secs).unwrap_or(i64::MAX);
        Ok(sqlx::query_as(
            "SELECT id, account, method, address, user_agent, created_at, last_seen, expires_at
             FROM access_sessions
             WHERE revoked_at IS NULL AND expires_at > ?1 AND last_seen > ?2 ORDER BY id DESC",
        )
        .bind(now)
        .bind(now.saturating_sub(idle))
        .fetch_all(self.store.pool())
        .await?)
    }

    /// Ends a session; returns its account when there was a live one with that id.
    pub async fn revoke(&self, id: i64, now: i64) -> Result<Option<String>, SessionError> {
        Ok(sqlx::query_scalar(
            "UPDATE access_sessions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL RETURNING account",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(self.store.pool())
        .await?)
    }

    /// Forgets sessions that ended more than a day ago, so the table does not grow forever.
    pub async fn prune(&self, now: i64) -> Result<(), SessionError> {
        sqlx::query("DELETE FROM access_sessions WHERE expires_at < ?1 OR revoked_at < ?1")
            .bind(now - 24 * 60 * 60)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sessions() -> (tempfile::TempDir, Sessions) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("gantry.db")).await.unwrap();
        (dir, Sessions::new(store))
    }

    fn creation(now: i64) -> Creation<'static> {
        Creation {
            account: "alice",
            method: Method::Os,
            address: "192.0.2.1",
            user_agent: Some("test"),
            tls: false,
            now,
            lifetime_secs: 3600,
        }
    }

    #[tokio::test]
    async fn a_session_lives_until_idle_lifetime_or_revocation() {
        let (_dir, sessions) = sessions().await;
        let t = 1_000_000;
        let new = sessions.create(creation(t)).await.unwrap();
        let found = sessions
            .find(&new.token, t + 10, 600)
            .await
            .unwrap()
            .expect("live");
        assert_eq!(found.account, "alice");
        assert_eq!(found.csrf_token, new.csrf_token);
        assert!(sessions
            .find("not-a-token", t, 600)
            .await
            .unwrap()
            .is_none());
        // Touched at t+100, so idle from there.
        assert!(sessions
            .find(&new.token, t + 100, 600)
            .await
            .unwrap()
            .is_some());
        assert!(sessions
            .find(&new.token, t + 699, 600)
            .await
            .unwrap()
            .is_some());
        assert!(sessions
            .find(&new.token, t + 1290, 600)
            .await
            .unwrap()
            .is_some());
        assert!(
            sessions
                .find(&new.token, t + 1899 + 600, 600)
                .await
                .unwrap()
                .is_none(),
            "idle"
        );
        let other = sessions.create(creation(t)).await.unwrap();
        assert!(
            sessions
                .find(&other.token, t + 3600, 100_000)
                .await
                .unwrap()
                .is_none(),
            "lifetime"
        );
        let third = sessions.create(creation(t)).await.unwrap();
        assert_eq!(sessions.list(t + 1, 600).await.unwrap().len(), 3);
        assert_eq!(
            sessions.revoke(third.id, t + 1).await.unwrap().as_deref(),
            Some("alice")
        );
        assert!(
            sessions
                .find(&third.token, t + 2, 600)
                .await
                .unwrap()
                .is_none(),
            "revoked"
        );
        assert_eq!(sessions.revoke(third.id, t + 1).await.unwrap(), None);
    }
}
