//! Agents' credentials: argon2id password hashes, random session and API
//! tokens (only their sha256 is stored), and login throttling settings.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::domain::Millis;

/// Sessions last a working day and are renewed by nothing: log in each morning.
pub const SESSION_MS: Millis = 12 * 3600 * 1000;
/// Failed logins allowed per name (and per address) within the window.
pub const MAX_FAILURES: i64 = 5;
pub const FAILURE_WINDOW_MS: Millis = 15 * 60 * 1000;
pub const LOCKOUT_MS: Millis = 15 * 60 * 1000;
pub const MIN_PASSWORD_LEN: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("password too short: at least {MIN_PASSWORD_LEN} characters")]
    WeakPassword,
    #[error("could not hash the password: {0}")]
    Hash(String),
}

crate::domain::string_enum!(
    /// What an account may do: agents work the queue; administrators also
    /// manage accounts.
    Role {
        Agent = "agent",
        Admin = "admin",
    }
);

pub fn hash_password(password: &str) -> Result<String, AuthError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AuthError::WeakPassword);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// [`verify_password`] with Argon2's working memory (~19 MiB) supplied by
/// the caller and kept between checks: the allocator is never asked for it
/// again, so a burst of checks cannot leave a trail of freed 19 MiB blocks
/// in per-thread arenas (measured: +19 MiB per check without this).
pub fn verify_password_in(memory: &mut Vec<argon2::Block>, hash: &str, password: &str) -> bool {
    let mut check = || -> Option<bool> {
        let parsed = PasswordHash::new(hash).ok()?;
        let params = argon2::Params::try_from(&parsed).ok()?;
        let algorithm = argon2::Algorithm::try_from(parsed.algorithm).ok()?;
        let version = match parsed.version {
            Some(v) => argon2::Version::try_from(v).ok()?,
            None => argon2::Version::default(),
        };
        let mut salt = [0u8; 64];
        let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
        let expected = parsed.hash?;
        if memory.len() < params.block_count() {
            memory.resize(params.block_count(), argon2::Block::default());
        }
        let mut out = vec![0u8; expected.len()];
        Argon2::new(algorithm, version, params.clone())
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt,
                &mut out,
                &mut memory[..params.block_count()],
            )
            .ok()?;
        // Constant time, as `Output`'s own comparison.
        Some(argon2::password_hash::Output::new(&out).ok()? == expected)
    };
    check().unwrap_or(false)
}

/// A hash to verify against when the agent does not exist, so that a login
/// with an unknown name takes as long as one with a wrong password.
pub fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("not-a-real-password-at-all").unwrap_or_default())
}

/// Password checks, bounded: a fixed set of threads (one per core, at most
/// four) verifies Argon2 hashes (~19 MiB each) and a short queue waits for
/// them; a check beyond that is refused at once ([`Busy`]) instead of
/// allocating. A fixed set of threads also keeps the allocator's per-thread
/// arenas fixed, so memory used in a burst is reused, not accumulated.
pub struct PasswordChecks {
    tx: std::sync::mpsc::SyncSender<Check>,
}

struct Check {
    hash: String,
    password: String,
    reply: tokio::sync::oneshot::Sender<bool>,
}

/// Every checking thread is busy and the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many password checks at once")]
pub struct Busy;

impl PasswordChecks {
    /// `threads` checking at once, `queue` more waiting.
    pub fn new(threads: usize, queue: usize) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Check>(queue);
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-{i}"))
                .spawn(move || {
                    // This thread's Argon2 memory, allocated once.
                    let mut memory = Vec::new();
                    loop {
                        let next = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok(c) = next else { return };
                        let ok = verify_password_in(&mut memory, &c.hash, &c.password);
                        let _ = c.reply.send(ok);
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password-check thread");
            }
        }
        Self { tx }
    }

    /// Sized from the machine: one thread per core (1–4), a queue four
    /// times that.
    pub fn for_this_machine() -> Self {
        let n = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 4);
        Self::new(n, 4 * n)
    }

    /// Whether `password` matches `hash`; [`Busy`] without waiting when the
    /// checks are saturated.
    pub async fn verify(&self, hash: String, password: String) -> Result<bool, Busy> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.tx
            .try_send(Check {
                hash,
                password,
                reply,
            })
            .map_err(|_| Busy)?;
        Ok(answer.await.unwrap_or(false))
    }
}

/// A new random token (URL-safe) and the hash stored for it.
pub fn new_token() -> (String, String) {
    let bytes: [u8; 32] = rand::random();
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "correct horse battery!"));
        assert!(!verify_password("garbage", "x"));
        let mut memory = Vec::new();
        assert!(verify_password_in(&mut memory, &h, "correct horse battery"));
        assert!(!verify_password_in(
            &mut memory,
            &h,
            "correct horse battery!"
        ));
        assert!(!verify_password_in(&mut memory, "garbage", "x"));
        assert!(matches!(
            hash_password("short"),
            Err(AuthError::WeakPassword)
        ));
    }

    #[tokio::test]
    async fn password_checks_are_bounded() {
        let h = hash_password("correct horse battery").unwrap();
        let checks = PasswordChecks::new(1, 1);
        let results = futures_util::future::join_all(
            (0..5).map(|_| checks.verify(h.clone(), "correct horse battery".into())),
        )
        .await;
        // One checking and one waiting at most; the rest refused unchecked.
        let checked = results.iter().filter(|r| r.is_ok()).count();
        assert!((1..=2).contains(&checked), "{results:?}");
        assert!(results.iter().all(|r| matches!(r, Ok(true) | Err(Busy))));
        assert_eq!(checks.verify(h, "x".into()).await, Ok(false));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, ha) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(token_hash(&a), ha);
        assert_eq!(a.len(), 43);
    }
}
