//! Tests of DSN parsing, masking and the local socket.

use super::*;

#[test]
fn detects_backends() {
    let pg = Dsn::parse("postgres://u:p@h/db").expect("pg");
    assert_eq!(pg.backend, Backend::Postgres);
    assert_eq!(
        Dsn::parse("postgresql://h/db").expect("pg").backend,
        Backend::Postgres
    );
    for (input, path) in [
        ("sqlite:///tmp/a.db", "/tmp/a.db"),
        ("sqlite://jobs.db", "jobs.db"),
        ("sqlite:jobs", "jobs"),
        ("./jobs.sqlite3", "./jobs.sqlite3"),
        ("/var/lib/x.sqlite", "/var/lib/x.sqlite"),
    ] {
        let dsn = Dsn::parse(input).expect(input);
        assert_eq!(dsn.backend, Backend::Sqlite);
        assert_eq!(dsn.target, path);
    }
    assert!(Dsn::parse("mysql://h/db").is_err());
    assert!(Dsn::parse("jobs.txt").is_err());
    assert!(Dsn::parse("sqlite:").is_err());
}

#[test]
fn redacts_passwords() {
    assert_eq!(
        redact("postgres://app:secret@db/app"),
        "postgres://app:***@db/app"
    );
    assert_eq!(redact("postgres://app@db/app"), "postgres://app@db/app");
    assert_eq!(
        redact("postgres://db/app?user=a&password=s3cr3t&sslmode=require"),
        "postgres://db/app?user=a&password=***&sslmode=require"
    );
    assert_eq!(redact("postgres://a:p@ss@db/x"), "postgres://a:***@db/x");
    let err = Dsn::parse("mysql://root:hunter2@db/x").expect_err("unsupported");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn every_libpq_form_is_masked() {
    let kw = Dsn::parse("host=db user=app password=s3cret dbname=app").expect("keyword");
    assert_eq!(kw.backend, Backend::Postgres);
    assert_eq!(kw.password().as_deref(), Some("s3cret"));
    assert_eq!(kw.to_string(), "host=db user=app password=*** dbname=app");
    let quoted = Dsn::parse("host=db password = 'it\\'s a s3cret' dbname=app").expect("quoted");
    assert_eq!(quoted.password().as_deref(), Some("it's a s3cret"));
    assert!(!quoted.to_string().contains("s3cret"), "{quoted}");
    for bad in [
        "postgres:/root:s3cret@127.0.0.1/db",
        "postgresql:root:s3cret@127.0.0.1/db",
        "postgres://root:p@s3cret@127.0.0.1/db",
        "postgres://root:pa/s3cret@127.0.0.1/db",
        "postgres://root:pa?s3cret@127.0.0.1/db",
        "postgres://root:pa#s3cret@127.0.0.1/db",
        "host=db password=s3cret bogus=1",
        "mysql://root:s3cret@db/x",
    ] {
        let err = Dsn::parse(bad).expect_err(bad);
        assert!(!err.contains("s3cret"), "{bad}: {err}");
    }
    let encoded = Dsn::parse("postgres://root:p%40s3cret@127.0.0.1/db").expect("encoded");
    assert_eq!(encoded.password().as_deref(), Some("p%40s3cret"));
    assert!(Dsn::parse("postgres://h/db?options=-c%20x&application_name=a@b").is_ok());
}

#[test]
fn a_dsn_without_a_host_finds_the_local_socket() {
    let dir = tempfile::tempdir().expect("dir");
    let socket_dir = dir.path().display().to_string();
    std::fs::write(dir.path().join(".s.PGSQL.5432"), "").expect("socket stand-in");
    let none = |_: &str| None;
    let target = |dsn: &str| {
        Dsn::parse(dsn)
            .expect(dsn)
            .libpq_target(&["/nonexistent", &socket_dir], &none)
    };
    assert_eq!(
        target("postgres:///app"),
        format!("postgres:///app?host={socket_dir}")
    );
    assert_eq!(
        target("postgres://u@/app?sslmode=disable"),
        format!("postgres://u@/app?sslmode=disable&host={socket_dir}")
    );
    assert_eq!(
        target("dbname=app"),
        format!("dbname=app host='{socket_dir}'")
    );
    for named in [
        "postgres://db/app",
        "postgres://u:p@127.0.0.1:5432/app",
        "postgres:///app?host=/run/pg",
        "host=db dbname=app",
        "postgres://:6543/app",
    ] {
        assert_eq!(target(named), named, "{named}");
    }
    let pghost = |k: &str| (k == "PGHOST").then(|| "db".to_string());
    let dsn = Dsn::parse("postgres:///app").expect("pg");
    assert_eq!(dsn.libpq_target(&[&socket_dir], &pghost), "postgres:///app");
}

#[test]
fn finds_password() {
    let dsn = Dsn::parse("postgres://app:secret@db/app").expect("pg");
    assert_eq!(dsn.password().as_deref(), Some("secret"));
    let dsn = Dsn::parse("postgres://db/app?password=x1").expect("pg");
    assert_eq!(dsn.password().as_deref(), Some("x1"));
    assert!(format!("{dsn} {dsn:?}").find("x1").is_none());
}

#[test]
fn labels_hold_no_password_nor_user() {
    for (dsn, label) in [
        (
            "postgres://root:s3cret@127.0.0.1:5432/app",
            "127.0.0.1:5432/app",
        ),
        (
            "postgresql://db.internal/app?sslmode=require",
            "db.internal/app",
        ),
        ("postgres:///app", "local/app"),
        (
            "host=db port=6432 user=u password=s3cret dbname=jobs",
            "db:6432/jobs",
        ),
        ("sqlite:///var/lib/app/jobs.db", "jobs.db"),
        ("lite.sqlite3", "lite.sqlite3"),
    ] {
        let d = Dsn::parse(dsn).expect(dsn);
        assert_eq!(d.label(), label, "{dsn}");
        assert!(!d.label().contains("s3cret"));
    }
}

#[test]
fn a_connect_timeout_is_added_unless_one_is_given() {
    let none = |_: &str| None;
    for (given, wanted) in [
        ("postgres://db/app", "postgres://db/app?connect_timeout=10"),
        (
            "postgres://db/app?sslmode=require",
            "postgres://db/app?sslmode=require&connect_timeout=10",
        ),
        (
            "host=db dbname=app",
            "host=db dbname=app connect_timeout=10",
        ),
        (
            "postgres://db/app?connect_timeout=3",
            "postgres://db/app?connect_timeout=3",
        ),
        ("host=db connect_timeout=3", "host=db connect_timeout=3"),
    ] {
        assert_eq!(with_connect_timeout(given, 10, &none), wanted);
    }
    let env = |k: &str| (k == "PGCONNECT_TIMEOUT").then(|| "4".to_string());
    assert_eq!(
        with_connect_timeout("postgres://db/app", 10, &env),
        "postgres://db/app"
    );
}
