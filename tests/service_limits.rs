//! The rate limits' use case run natively through the ports: fixed windows counted in SQLite,
//! every window of a request counted in one batch, refusal with the seconds left in the window,
//! and a database failure refusing rather than letting the request through uncounted.

mod common;

use common::ports::{block_on, World};

use scoremate::domain::rate::{Rate, Window};
use scoremate::error::ApiError;
use scoremate::service::limits;

fn hits(w: &World, bucket: &str) -> i64 {
    w.db()
        .query_row(
            "select hits from rate_windows where bucket = ?1",
            [bucket],
            |r| r.get(0),
        )
        .unwrap_or(0)
}

fn retry_after(e: &ApiError) -> u64 {
    match e {
        ApiError::RateLimited {
            retry_after_seconds,
        } => *retry_after_seconds,
        other => panic!("not 429: {other:?}"),
    }
}

#[test]
fn a_window_counts_each_hit_and_refuses_past_the_limit_with_the_seconds_left() {
    let w = World::new();
    // 10 s into a 60 s window.
    let into = w.now.get().seconds().rem_euclid(60);
    w.advance(10 - into);
    let rate = Some(Rate::new(3, 60));
    let window = || limits::window(&w.cx(), "test", "subject", rate);
    let bucket = window().unwrap().bucket;
    for n in 1..=3 {
        block_on(limits::hit(&w.cx(), &[window()])).unwrap();
        assert_eq!(hits(&w, &bucket), n);
    }
    let over = block_on(limits::hit(&w.cx(), &[window()])).unwrap_err();
    assert_eq!(over.status(), 429);
    assert_eq!(retry_after(&over), 50);
    assert!(over
        .headers()
        .iter()
        .any(|(h, v)| *h == "retry-after" && v == "50"));
    assert_eq!(hits(&w, &bucket), 4, "a refused request is counted too");
    w.advance(49);
    assert_eq!(
        retry_after(&block_on(limits::hit(&w.cx(), &[window()])).unwrap_err()),
        1
    );
    w.advance(1);
    block_on(limits::hit(&w.cx(), &[window()])).unwrap();
    assert_eq!(hits(&w, &bucket), 1, "a new window starts at 1");
}

#[test]
fn every_window_of_a_request_is_counted_and_any_one_over_refuses_it() {
    let w = World::new();
    let wide = || limits::window(&w.cx(), "wide", "s", Some(Rate::new(100, 60)));
    let narrow = || limits::window(&w.cx(), "narrow", "s", Some(Rate::new(1, 60)));
    block_on(limits::hit(&w.cx(), &[wide(), narrow()])).unwrap();
    let err = block_on(limits::hit(&w.cx(), &[wide(), narrow()])).unwrap_err();
    assert_eq!(err.status(), 429);
    assert_eq!(hits(&w, &wide().unwrap().bucket), 2);
    assert_eq!(hits(&w, &narrow().unwrap().bucket), 2);
    // Another subject has its own count.
    let elsewhere = limits::window(&w.cx(), "narrow", "t", Some(Rate::new(1, 60)));
    block_on(limits::hit(&w.cx(), &[elsewhere])).unwrap();
}

#[test]
fn a_limit_that_is_off_counts_nothing_and_touches_no_table() {
    let w = World::new();
    assert!(limits::window(&w.cx(), "off", "s", None).is_none());
    w.ports.db.fail_next("rate_windows", 1);
    block_on(limits::hit(&w.cx(), &[None, None])).unwrap();
    block_on(limits::hit(&w.cx(), &[])).unwrap();
    assert_eq!(w.count("select count(*) from rate_windows"), 0);
    assert_eq!(limits::hits(None).unwrap(), 0);
}

#[test]
fn a_count_the_database_refuses_is_an_error_and_counts_nothing() {
    let w = World::new();
    let a = || limits::window(&w.cx(), "a", "s", Some(Rate::new(5, 60)));
    let b = || limits::window(&w.cx(), "b", "s", Some(Rate::new(5, 60)));
    block_on(limits::hit(&w.cx(), &[a()])).unwrap();
    w.ports.db.fail_next("insert into rate_windows", 1);
    let err = block_on(limits::hit(&w.cx(), &[a(), b()])).unwrap_err();
    assert_eq!(err.status(), 500, "fails closed: {err:?}");
    assert_eq!(
        hits(&w, &a().unwrap().bucket),
        1,
        "the batch changed nothing"
    );
    assert_eq!(hits(&w, &b().unwrap().bucket), 0);
}

#[test]
fn the_per_address_window_follows_the_setting() {
    let w = World::with(&[("RATE_AUTH_PER_IP", "2/30")]);
    let window: Window = limits::auth_ip(&w.cx(), "192.0.2.1").unwrap();
    assert_eq!(window.bucket, "auth-ip:30:192.0.2.1");
    let off = World::with(&[("RATE_AUTH_PER_IP", "off")]);
    assert!(limits::auth_ip(&off.cx(), "192.0.2.1").is_none());
}
