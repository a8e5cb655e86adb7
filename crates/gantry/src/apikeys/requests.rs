//! App-key requests: an app (Cura, Home Assistant, an OctoPrint client) asks for a key, the
//! owner approves or denies it in the dashboard, and the app collects the key by polling.
//!
//! Times are passed in, so the expiry rules are tested without waiting.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::access::secret;

/// A request the app stopped polling for this long is dropped (OctoPrint uses 5 s and its
/// clients poll every 0.5–1 s; twice that forgives a slow machine).
pub const POLL_TIMEOUT: Duration = Duration::from_secs(10);
/// No request waits longer than this for a decision.
pub const CUTOFF: Duration = Duration::from_secs(10 * 60);
/// Requests one address may open per [`RATE_WINDOW`].
pub const RATE_LIMIT: usize = 5;
pub const RATE_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Undecided requests kept at once, from everyone.
pub const PENDING_LIMIT: usize = 20;
/// Longest app or user name kept, in characters.
const MAX_APP: usize = 100;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("the app's name must be 1 to {MAX_APP} characters")]
    BadApp,
    #[error("too many key requests from this address; try again in a few minutes")]
    RateLimited,
    #[error(
        "too many key requests are waiting for a decision; decide them in the dashboard first"
    )]
    TooMany,
    #[error("the key request is gone: it was decided, or the app stopped asking")]
    Gone,
    #[error("the system's random number generator failed")]
    Random,
}

/// A pending request as the dashboard shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AppRequest {
    pub id: i64,
    pub app: String,
    pub user: Option<String>,
    pub address: String,
    pub age_s: u64,
}

/// What a poll learns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    Pending,
    /// The key, handed out exactly once.
    Granted(String),
    /// Denied, expired, collected, or never existed.
    Gone,
}

#[derive(Debug)]
enum Decision {
    Pending,
    Granted(String),
}

#[derive(Debug)]
struct Pending {
    id: i64,
    token: String,
    app: String,
    user: Option<String>,
    address: IpAddr,
    opened: Instant,
    polled: Instant,
    decision: Decision,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: i64,
    pending: Vec<Pending>,
    opened_by: HashMap<IpAddr, VecDeque<Instant>>,
}

#[derive(Debug, Default)]
pub struct Requests {
    inner: Mutex<Inner>,
}

fn clean(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty() && text.chars().count() <= MAX_APP && !text.chars().any(char::is_control))
        .then(|| text.to_owned())
}

impl Inner {
    fn prune(&mut self, now: Instant) {
        self.pending.retain(|p| {
            now.saturating_duration_since(p.polled) <= POLL_TIMEOUT
                && now.saturating_duration_since(p.opened) <= CUTOFF
        });
        self.opened_by.retain(|_, times| {
            while times
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) > RATE_WINDOW)
            {
                times.pop_front();
            }
            !times.is_empty()
        });
    }
}

impl Requests {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens a request for `app`; returns the token the app polls with.
    pub fn open(
        &self,
        app: &str,
        user: Option<&str>,
        address: IpAddr,
        now: Instant,
    ) -> Result<String, RequestError> {
        let app = clean(app).ok_or(RequestError::BadApp)?;
        let user = match user {
            Some(user) => Some(clean(user).ok_or(RequestError::BadApp)?),
            None => None,
        };
        let token = secret::token().map_err(|_| RequestError::Random)?;
        let mut inner = self.lock();
        inner.prune(now);
        if inner
            .opened_by
            .get(&address)
            .is_some_and(|t| t.len() >= RATE_LIMIT)
        {
            return Err(RequestError::RateLimited);
        }
        if inner.pending.len() >= PENDING_LIMIT {
            return Err(RequestError::TooMany);
        }
        inner.opened_by.entry(address).or_default().push_back(now);
        inner.next_id += 1;
        let id = inner.next_id;
        inner.pending.push(Pending {
            id,
            token: token.clone(),
            app,
            user,
            address,
            opened: now,
            polled: now,
            decision: Decision::Pending,
        });
        Ok(token)
    }

    /// The app asks whether it has been decided; a granted key is handed out once.
    pub fn poll(&self, token: &str, now: Instant) -> Poll {
        let mut inner = self.lock();
        inner.prune(now);
        let Some(index) = inner
            .pending
            .iter()
            .position(|p| secret::same(&p.token, token))
        else {
            return Poll::Gone;
        };
        inner.pending[index].polled = now;
        match &inner.pending[index].decision {
            Decision::Pending => Poll::Pending,
            Decision::Granted(_) => match inner.pending.remove(index).decision {
                Decision::Granted(key) => Poll::Granted(key),
                Decision::Pending => Poll::Pending,
            },
        }
    }

    /// Undecided requests, oldest first.
    pub fn pending(&self, now: Instant) -> Vec<AppRequest> {
        let mut inner = self.lock();
        inner.prune(now);
        inner
            .pending
            .iter()
            .filter(|p| matches!(p.decision, Decision::Pending))
            .map(|p| AppRequest {
                id: p.id,
                app: p.app.clone(),
                user: p.user.clone(),
                address: p.address.to_string(),
                age_s: now.saturating_duration_since(p.opened).as_secs(),
            })
            .collect()
    }

    /// The undecided request `id`, for the owner to approve.
    pub fn get(&self, id: i64, now: Instant) -> Result<AppRequest, RequestError> {
        self.pending(now)
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(RequestError::Gone)
    }

    /// Hands `key` to the app's next poll. Fails if the request went away meanwhile.
    pub fn grant(&self, id: i64, key: String, now: Instant) -> Result<(), RequestError> {
        let mut inner = self.lock();
        inner.prune(now);
        let request = inner
            .pending
            .iter_mut()
            .find(|p| p.id == id && matches!(p.decision, Decision::Pending))
            .ok_or(RequestError::Gone)?;
        request.decision = Decision::Granted(key);
        Ok(())
    }

    /// Drops the request; the app's next poll learns "no".
    pub fn deny(&self, id: i64, now: Instant) -> Result<(), RequestError> {
        let mut inner = self.lock();
        inner.prune(now);
        let before = inner.pending.len();
        inner
            .pending
            .retain(|p| !(p.id == id && matches!(p.decision, Decision::Pending)));
        if inner.pending.len() == before {
            return Err(RequestError::Gone);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn a_granted_key_is_collected_once() {
        let requests = Requests::default();
        let t0 = Instant::now();
        let token = requests.open("Cura", None, HERE, t0).unwrap();
        assert_eq!(requests.poll(&token, t0), Poll::Pending);
        let pending = requests.pending(t0);
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].app, "Cura");
        requests.grant(pending[0].id, "k".into(), t0).unwrap();
        assert!(requests.pending(t0).is_empty());
        assert_eq!(requests.poll(&token, t0), Poll::Granted("k".into()));
        assert_eq!(requests.poll(&token, t0), Poll::Gone);
        assert_eq!(requests.poll("not a token", t0), Poll::Gone);
    }

    #[test]
    fn denied_and_abandoned_requests_are_gone() {
        let requests = Requests::default();
        let t0 = Instant::now();
        let denied = requests.open("A", Some("me"), HERE, t0).unwrap();
        let id = requests.pending(t0)[0].id;
        requests.deny(id, t0).unwrap();
        assert_eq!(requests.deny(id, t0), Err(RequestError::Gone));
        assert_eq!(requests.poll(&denied, t0), Poll::Gone);

        let abandoned = requests.open("B", None, HERE, t0).unwrap();
        let id = requests.pending(t0)[0].id;
        let late = t0 + POLL_TIMEOUT + Duration::from_secs(1);
        assert!(requests.pending(late).is_empty());
        assert_eq!(
            requests.grant(id, "k".into(), late),
            Err(RequestError::Gone)
        );
        assert_eq!(requests.poll(&abandoned, late), Poll::Gone);

        // Polling keeps a request alive, but not past the cutoff.
        let kept = requests.open("C", None, HERE, t0).unwrap();
        let mut now = t0;
        while now + POLL_TIMEOUT / 2 <= t0 + CUTOFF {
            now += POLL_TIMEOUT / 2;
            assert_eq!(requests.poll(&kept, now), Poll::Pending);
        }
        assert_eq!(requests.poll(&kept, now + POLL_TIMEOUT / 2), Poll::Gone);
    }

    #[test]
    fn requests_are_limited() {
        let requests = Requests::default();
        let t0 = Instant::now();
        assert_eq!(requests.open("", None, HERE, t0), Err(RequestError::BadApp));
        assert_eq!(
            requests.open("a\u{7}", None, HERE, t0),
            Err(RequestError::BadApp)
        );
        assert_eq!(
            requests.open("ok", Some(""), HERE, t0),
            Err(RequestError::BadApp)
        );
        for _ in 0..RATE_LIMIT {
            requests.open("app", None, HERE, t0).unwrap();
        }
        assert_eq!(
            requests.open("app", None, HERE, t0),
            Err(RequestError::RateLimited)
        );
        let later = t0 + RATE_WINDOW + Duration::from_secs(1);
        assert!(requests.open("app", None, HERE, later).is_ok());
        for i in 0..PENDING_LIMIT {
            let address = IpAddr::V4(std::net::Ipv4Addr::new(
                10,
                0,
                (i / 250) as u8,
                (i % 250) as u8,
            ));
            let _ = requests.open("app", None, address, later);
        }
        let other = IpAddr::V4(std::net::Ipv4Addr::new(10, 9, 9, 9));
        assert_eq!(
            requests.open("app", None, other, later),
            Err(RequestError::TooMany)
        );
    }
}
