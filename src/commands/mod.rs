//! One module per subcommand: each resolves its options, talks to the database through `db`,
//! and returns a report that `output` renders.

pub mod counts;
pub mod demo;
pub mod migrate;
pub mod prune;
pub mod seed;
