//! Telling a timeout from other database failures, so the message can name the flag that
//! sets it.
//!
//! PostgreSQL reports both as SQLSTATE codes (55P03 `lock_not_available` for `lock_timeout`,
//! 57014 `query_canceled` for `statement_timeout`), but diesel 2.3 keeps the SQLSTATE to
//! itself except for a handful of codes (unique and foreign-key violations, 40001, 25006, lost
//! connections), and not these two. So the database error is found in the chain and its
//! primary message compared, whole, with the texts the server writes for these two events: in
//! English and in every language PostgreSQL ships a translation for (its message catalogues,
//! `postgres-15.mo`; `lc_messages` picks one). A message not in the list only loses the hint:
//! the error itself is always shown whole.

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
        .find_map(|cause| timeout_of(cause.downcast_ref::<DieselError>()?))
}

/// The timeout that stopped the statement that failed with `err`, if one did.
pub fn timeout_of(err: &DieselError) -> Option<Timeout> {
    match err {
        DieselError::DatabaseError(_, info) => classify(info.message()),
        _ => None,
    }
}

/// What the server says when `lock_timeout` and `statement_timeout` cancel a statement, per
/// language. Compared whole: in some languages one is a prefix of the other.
const MESSAGES: &[(&str, &str, &str)] = &[
    (
        "en",
        "canceling statement due to lock timeout",
        "canceling statement due to statement timeout",
    ),
    (
        "de",
        "storniere Anfrage wegen Zeitüberschreitung einer Sperre",
        "storniere Anfrage wegen Zeitüberschreitung der Anfrage",
    ),
    (
        "es",
        "cancelando la sentencia debido a que se agotó el tiempo de espera de candados (locks)",
        "cancelando la sentencia debido a que se agotó el tiempo de espera de sentencias",
    ),
    (
        "fr",
        "annulation de la requête à cause du délai écoulé pour l'obtention des verrous",
        "annulation de la requête à cause du délai écoulé pour l'exécution de l'instruction",
    ),
    (
        "it",
        "annullamento dell'istruzione a causa di timeout di lock",
        "annullamento dell'istruzione a causa di timeout",
    ),
    (
        "ja",
        "ロックのタイムアウトのためステートメントをキャンセルしています",
        "ステートメントのタイムアウトのためステートメントをキャンセルしています",
    ),
    (
        "ka",
        "გამოსახულება გაუქმდება ბლოკის მოლოდინის ვადის ამოწურვის გამო",
        "canceling statement due to statement timeout",
    ),
    (
        "ko",
        "잠금 대기 시간 초과로 작업을 취소합니다.",
        "명령실행시간 초과로 작업을 취소합니다.",
    ),
    (
        "ru",
        "выполнение оператора отменено из-за тайм-аута блокировки",
        "выполнение оператора отменено из-за тайм-аута",
    ),
    (
        "sv",
        "avbryter sats på grund av lås-timeout",
        "avbryter sats på grund av sats-timeout",
    ),
    (
        "uk",
        "виконання оператора скасовано через тайм-аут блокування",
        "виконання оператора скасовано через тайм-аут",
    ),
    (
        "zh_CN",
        "由于锁超时，正在取消语句",
        "由于语句执行超时，正在取消语句",
    ),
    (
        "zh_TW",
        "由於鎖定逾時，正在取消敘述",
        "因為陳述式逾時，正在取消陳述式",
    ),
];

fn classify(message: &str) -> Option<Timeout> {
    let message = message.trim();
    MESSAGES.iter().find_map(|&(_, lock, statement)| {
        if message == lock {
            Some(Timeout::Lock)
        } else if message == statement {
            Some(Timeout::Statement)
        } else {
            None
        }
    })
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

    #[test]
    fn translated_messages_are_classified_whole() {
        // Russian: the statement-timeout text is a prefix of the lock-timeout one.
        assert_eq!(
            classify("выполнение оператора отменено из-за тайм-аута блокировки"),
            Some(Timeout::Lock)
        );
        assert_eq!(
            classify("выполнение оператора отменено из-за тайм-аута"),
            Some(Timeout::Statement)
        );
        assert_eq!(
            classify("storniere Anfrage wegen Zeitüberschreitung einer Sperre"),
            Some(Timeout::Lock)
        );
        assert_eq!(
            classify("canceling statement due to lock timeout, sort of"),
            None
        );
    }
}
