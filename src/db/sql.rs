//! One builder for every statement with values in it, on both engines. Text is pushed as it
//! is; each value is recorded and stands in the text as its numbered placeholder (`$3` on
//! PostgreSQL, `?3` on SQLite), so numbering cannot drift and a value is never spliced into
//! SQL. Lists are arrays on PostgreSQL and one JSON text on SQLite (opened with `json_each`).

use std::marker::PhantomData;

use diesel::pg::data_types::PgTimestamp;
use diesel::pg::Pg;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::serialize::ToSql;
use diesel::sql_types::{Array, BigInt, Double, HasSqlType, Text, Timestamp};
use diesel::sqlite::Sqlite;

/// A value bound to a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    Text(String),
    /// A whole number.
    Int(i64),
    /// A real number (seconds, mostly).
    Float(f64),
    /// A list of texts.
    Texts(Vec<String>),
    /// A list of whole numbers.
    Ints(Vec<i64>),
    /// A list of real numbers.
    Floats(Vec<f64>),
    /// A moment as the database clock wrote it (`2026-11-24T10:00:00.123456`), compared with
    /// timestamp columns. PostgreSQL receives it as a timestamp, not as text cast in the
    /// statement: that cast is not immutable, so PostgreSQL would parse the text again for
    /// every row a filter reads (a third of a heap walk's time), where a typed value is parsed
    /// once, here.
    Stamp(String),
}

/// `impl From<$from> for Value`, through `$make`.
macro_rules! value_from {
    ($($from:ty => $make:expr),* $(,)?) => {
        $(impl From<$from> for Value {
            fn from(v: $from) -> Value {
                $make(v)
            }
        })*
    };
}

value_from! {
    &str => |v: &str| Value::Text(v.to_string()),
    String => Value::Text,
    &String => |v: &String| Value::Text(v.clone()),
    i64 => Value::Int,
    u64 => |v: u64| Value::Int(v.min(i64::MAX as u64) as i64),
    f64 => Value::Float,
    &[String] => |v: &[String]| Value::Texts(v.to_vec()),
    &Vec<String> => |v: &Vec<String>| Value::Texts(v.clone()),
    &[i64] => |v: &[i64]| Value::Ints(v.to_vec()),
    &[f64] => |v: &[f64]| Value::Floats(v.to_vec()),
}

/// A boxed raw statement for engine `DB`, values bound.
pub type Query<DB> = BoxedSqlQuery<'static, DB, SqlQuery>;

/// What differs between the engines in writing and binding values.
pub trait Dialect:
    diesel::backend::Backend + HasSqlType<Text> + HasSqlType<BigInt> + HasSqlType<Double> + Sized
{
    /// What a placeholder starts with; the value's number (from 1) follows.
    const MARK: &'static str;
    /// How to ask whether `{expr}` is in the list bound at `{list}`.
    const IN_LIST: &'static str;

    /// The placeholder of the n-th value.
    fn placeholder(n: usize) -> String {
        format!("{}{n}", Self::MARK)
    }

    /// `expr` is one of the list bound at `placeholder`.
    fn in_list(expr: &str, placeholder: &str) -> String {
        Self::IN_LIST
            .replace("{expr}", expr)
            .replace("{list}", placeholder)
    }

    /// Binds a list value.
    fn bind_list(q: Query<Self>, list: Value) -> Query<Self>;

    /// How a moment bound at `{p}` is written to compare with a timestamp column.
    const STAMP: &'static str;

    /// Binds a moment ([`Value::Stamp`]).
    fn bind_stamp(q: Query<Self>, text: String) -> Query<Self>;

    /// How to ask, case-sensitively, whether `{expr}` matches the pattern bound at `{pattern}`.
    const GLOB: &'static str;

    /// A glob (`*` any run of characters, `?` any one, everything else itself) as the
    /// engine's pattern for [`Dialect::GLOB`].
    fn glob_pattern(glob: &str) -> String;
}

impl Dialect for Pg {
    const MARK: &'static str = "$";
    const IN_LIST: &'static str = "{expr} = ANY({list})";

    // E'' reads the backslash the same whatever standard_conforming_strings says.
    const GLOB: &'static str = "{expr} LIKE {pattern} ESCAPE E'\\\\'";

    /// A LIKE pattern: `%`, `_` and `\` escaped, then `*` → `%` and `?` → `_`.
    fn glob_pattern(glob: &str) -> String {
        glob.chars()
            .map(|c| match c {
                '*' => "%".to_string(),
                '?' => "_".to_string(),
                '%' | '_' | '\\' => format!("\\{c}"),
                c => c.to_string(),
            })
            .collect()
    }

    fn bind_list(q: Query<Pg>, list: Value) -> Query<Pg> {
        match list {
            Value::Texts(v) => q.bind::<Array<Text>, _>(v),
            Value::Ints(v) => q.bind::<Array<BigInt>, _>(v),
            Value::Floats(v) => q.bind::<Array<Double>, _>(v),
            scalar => unreachable!("not a list: {scalar:?}"),
        }
    }

    // The cast is a no-op on a timestamp, and reads text that could not be parsed here.
    const STAMP: &'static str = "{p}::timestamp";

    fn bind_stamp(q: Query<Pg>, text: String) -> Query<Pg> {
        match pg_micros(&text) {
            Some(micros) => q.bind::<Timestamp, _>(PgTimestamp(micros)),
            None => q.bind::<Text, _>(text),
        }
    }
}

/// Microseconds since 2000-01-01 (PostgreSQL's timestamp) of a moment written without a zone,
/// when it is one to the microsecond; None leaves the text for the server to read.
fn pg_micros(text: &str) -> Option<i64> {
    let at: jiff::civil::DateTime = text.trim().replacen(' ', "T", 1).parse().ok()?;
    if at.subsec_nanosecond() % 1000 != 0 {
        return None;
    }
    let epoch = jiff::civil::date(2000, 1, 1).at(0, 0, 0, 0);
    i64::try_from(at.duration_since(epoch).as_micros()).ok()
}

impl Dialect for Sqlite {
    const MARK: &'static str = "?";
    const IN_LIST: &'static str = "{expr} IN (SELECT value FROM json_each({list}))";

    const GLOB: &'static str = "{expr} GLOB {pattern}";

    /// A GLOB pattern: `*` and `?` as they are, `[` (a character class there) as `[[]`.
    fn glob_pattern(glob: &str) -> String {
        glob.replace('[', "[[]")
    }

    const STAMP: &'static str = "{p}";

    fn bind_stamp(q: Query<Sqlite>, text: String) -> Query<Sqlite> {
        q.bind::<Text, _>(text)
    }

    fn bind_list(q: Query<Sqlite>, list: Value) -> Query<Sqlite> {
        let json = match list {
            Value::Texts(v) => serde_json::Value::from(v),
            Value::Ints(v) => serde_json::Value::from(v),
            Value::Floats(v) => serde_json::Value::from(v),
            scalar => unreachable!("not a list: {scalar:?}"),
        };
        q.bind::<Text, _>(json.to_string())
    }
}

/// A statement under construction for engine `DB`.
#[derive(Debug)]
pub struct Sql<DB> {
    text: String,
    values: Vec<Value>,
    engine: PhantomData<DB>,
}

impl<DB> Clone for Sql<DB> {
    fn clone(&self) -> Self {
        Sql {
            text: self.text.clone(),
            values: self.values.clone(),
            engine: PhantomData,
        }
    }
}

impl<DB: Dialect> Default for Sql<DB> {
    fn default() -> Self {
        Sql {
            text: String::new(),
            values: Vec::new(),
            engine: PhantomData,
        }
    }
}

impl<DB: Dialect> Sql<DB> {
    /// An empty statement.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends text (never a value: use [`Sql::bind`] for those).
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Records a value and returns its placeholder, to be written into the text.
    pub fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        DB::placeholder(self.values.len())
    }

    /// A moment on the database clock, bound and written to compare with a timestamp column
    /// (`$3::timestamp` on PostgreSQL, `?3` on SQLite).
    pub fn stamp(&mut self, text: impl Into<String>) -> String {
        let p = self.bind(Value::Stamp(text.into()));
        DB::STAMP.replace("{p}", &p)
    }

    /// `expr` is one of `values` (a bound list; the engine's way of asking).
    pub fn in_list(&mut self, expr: &str, values: impl Into<Value>) -> String {
        let p = self.bind(values);
        DB::in_list(expr, &p)
    }

    /// `expr` matches `glob` (`*`, `?`), the pattern bound.
    pub fn glob(&mut self, expr: &str, glob: &str) -> String {
        let p = self.bind(DB::glob_pattern(glob));
        DB::GLOB.replace("{expr}", expr).replace("{pattern}", &p)
    }

    /// The text so far.
    #[cfg(test)]
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl<DB: Dialect> Sql<DB>
where
    String: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
    f64: ToSql<Double, DB>,
{
    /// The statement with every value bound, ready to load or execute.
    pub fn query(self) -> Query<DB> {
        let mut q = diesel::sql_query(self.text).into_boxed::<DB>();
        for v in self.values {
            q = match v {
                Value::Text(v) => q.bind::<Text, _>(v),
                Value::Int(v) => q.bind::<BigInt, _>(v),
                Value::Float(v) => q.bind::<Double, _>(v),
                Value::Stamp(v) => DB::bind_stamp(q, v),
                list => DB::bind_list(q, list),
            };
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_values() {
        let mut pg = Sql::<Pg>::new();
        let a = pg.bind("x");
        let b = pg.bind(3_i64);
        pg.push(&format!("SELECT {a}, {b}, {a}"));
        assert_eq!(pg.text(), "SELECT $1, $2, $1");
        let mut lite = Sql::<Sqlite>::new();
        let a = lite.bind(1.5);
        assert_eq!(a, "?1");
    }

    #[test]
    fn moments_are_microseconds_since_2000() {
        assert_eq!(pg_micros("2000-01-01T00:00:00"), Some(0));
        assert_eq!(pg_micros("2000-01-01 00:00:01.5"), Some(1_500_000));
        assert_eq!(pg_micros("1999-12-31T23:59:59.999999"), Some(-1));
        assert_eq!(
            pg_micros("2026-11-25T09:07:04.826522"),
            Some(848_912_824_826_522)
        );
        // Finer than a microsecond, or not a moment: the server reads the text.
        assert_eq!(pg_micros("2026-11-25T09:07:04.8265221"), None);
        assert_eq!(pg_micros("yesterday"), None);
        let mut pg = Sql::<Pg>::new();
        assert_eq!(pg.stamp("2026-01-01T00:00:00"), "$1::timestamp");
        let mut lite = Sql::<Sqlite>::new();
        assert_eq!(lite.stamp("2026-01-01T00:00:00"), "?1");
    }

    #[test]
    fn globs_match_only_star_and_question_mark() {
        assert_eq!(Pg::glob_pattern("app_x.*%?\\"), "app\\_x.%\\%_\\\\");
        assert_eq!(Sqlite::glob_pattern("a[b]*?"), "a[[]b]*?");
        let mut pg = Sql::<Pg>::new();
        assert_eq!(pg.glob("worker", "a*"), "worker LIKE $1 ESCAPE E'\\\\'");
        assert_eq!(pg.values, [Value::Text("a%".into())]);
    }
}
