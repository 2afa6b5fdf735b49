//! The SQL both backends run, written once with `$n` placeholders.
//!
//! Queries go through sqlx's `Any` driver, so one body of code serves
//! SQLite and PostgreSQL; [`Store::q`] rewrites `$n` to SQLite's `?n` (same
//! numbering, so arguments bind identically).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::{Query, QueryAs};
use sqlx::Any;

use super::{Backend, Result, Store, Tx};

impl Store {
    /// The statement in this backend's placeholder syntax.
    pub fn q(&self, sql: &'static str) -> &'static str {
        match self.backend {
            Backend::Postgres => sql,
            Backend::Sqlite => {
                static CACHE: OnceLock<Mutex<HashMap<&'static str, &'static str>>> =
                    OnceLock::new();
                let cache = CACHE.get_or_init(Default::default);
                let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
                // The statements are a fixed set: leaking each rewrite once is bounded.
                map.entry(sql)
                    .or_insert_with(|| Box::leak(to_sqlite(sql).into_owned().into_boxed_str()))
            }
        }
    }

    /// A dynamically built statement in this backend's syntax.
    pub fn dynamic(&self, sql: String) -> String {
        match self.backend {
            Backend::Postgres => sql,
            Backend::Sqlite => to_sqlite(&sql).into_owned(),
        }
    }

    pub(super) fn query(&self, sql: &'static str) -> Query<'static, Any, AnyArguments<'static>> {
        sqlx::query(self.q(sql))
    }

    pub(super) fn query_as<T>(
        &self,
        sql: &'static str,
    ) -> QueryAs<'static, Any, T, AnyArguments<'static>>
    where
        T: for<'r> sqlx::FromRow<'r, AnyRow>,
    {
        sqlx::query_as(self.q(sql))
    }

    /// Starts a write transaction. SQLite must take its write lock up front
    /// (`BEGIN IMMEDIATE`), or two writers deadlock on the upgrade.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }
}

/// `$12` → `?12`, outside string literals.
fn to_sqlite(sql: &str) -> Cow<'_, str> {
    if !sql.contains('$') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut in_str = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            in_str = !in_str;
        }
        if c == '$' && !in_str && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::to_sqlite;

    #[test]
    fn placeholders_become_numbered_question_marks() {
        assert_eq!(
            to_sqlite("a = $1 AND b = $12 AND c = '$3'"),
            "a = ?1 AND b = ?12 AND c = '$3'"
        );
        assert_eq!(to_sqlite("no params"), "no params");
    }
}
