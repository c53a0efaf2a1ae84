//! Telling a timeout from other database failures, so the message can name the flag that
//! sets it.
//!
//! PostgreSQL reports both as SQLSTATE codes (55P03 `lock_not_available` for `lock_timeout`,
//! 57014 `query_canceled` for `statement_timeout`), but diesel exposes the SQLSTATE only for a
//! handful of codes and not these two. So the database error itself is found in the chain and
//! its primary message read, which the server writes as "canceling statement due to lock
//! timeout" / "… statement timeout" (under an English `lc_messages`, the default). Under
//! another language the hint is simply not added: the error is still shown whole.

use diesel::result::Error as DieselError;

/// A session limit that stopped a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// `lock_timeout`: a lock was not granted in time.
    Lock,
    /// `statement_timeout`: a statement ran too long.
    Statement,
}

impl Timeout {
    /// The flag that sets this limit.
    pub fn flag(self) -> &'static str {
        match self {
            Timeout::Lock => "--lock-timeout",
            Timeout::Statement => "--statement-timeout",
        }
    }
}

/// The timeout that stopped the statement behind `err`, if one did.
pub fn timeout(err: &anyhow::Error) -> Option<Timeout> {
    err.chain()
        .find_map(|cause| match cause.downcast_ref::<DieselError>()? {
            DieselError::DatabaseError(_, info) => classify(info.message()),
            _ => None,
        })
}

fn classify(message: &str) -> Option<Timeout> {
    if message.contains("lock timeout") {
        Some(Timeout::Lock)
    } else if message.contains("statement timeout") {
        Some(Timeout::Statement)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_classified() {
        assert_eq!(
            classify("canceling statement due to lock timeout"),
            Some(Timeout::Lock)
        );
        assert_eq!(
            classify("canceling statement due to statement timeout"),
            Some(Timeout::Statement)
        );
        assert_eq!(classify("canceling statement due to user request"), None);
    }
}
