//! Integration tests: the real binary and library against real PostgreSQL and SQLite files.

mod cases;
mod support;
