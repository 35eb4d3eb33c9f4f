//! Rate-limit counters on SQLite against the real migrations: counting within a window, restarting
//! in the next, giving an attempt back, and the sweep.

mod common;

use common::{exec, migrated, rows};
use rusqlite::{params, Connection};
use scoremate::domain::rate::{Rate, Window};
use scoremate::domain::time::Millis;
use scoremate::store::limits;

fn hit(c: &Connection, w: &Window) -> i64 {
    rows(c, &limits::hit(w), |r| r.get("hits")).remove(0)
}

/// The count stored for the window (0 when the bucket holds another window or nothing).
fn peek(c: &Connection, w: &Window) -> i64 {
    c.query_row(
        "select coalesce((select hits from rate_windows where bucket = ?1 and window_start = ?2), 0)",
        params![w.bucket, w.start],
        |r| r.get(0),
    )
    .unwrap()
}

fn give_back(c: &Connection, w: &Window) -> usize {
    exec(c, &limits::give_back(w))
}

#[test]
fn a_window_counts_up_and_the_next_one_starts_again() {
    let c = migrated();
    let rate = Rate::new(3, 60);
    let w = Window::new("auth-ip", "10.0.0.1", rate, Millis(1_000_000));
    assert_eq!(peek(&c, &w), 0);
    let counts: Vec<i64> = (0..4).map(|_| hit(&c, &w)).collect();
    assert_eq!(counts, [1, 2, 3, 4]);
    assert!(w.check(counts[2]).is_ok());
    assert!(w.check(counts[3]).is_err());
    assert_eq!(peek(&c, &w), 4);
    let other = Window::new("auth-ip", "10.0.0.2", rate, Millis(1_000_000));
    assert_eq!(hit(&c, &other), 1, "buckets are independent");
    let next = Window::new("auth-ip", "10.0.0.1", rate, Millis(1_000_000 + 60_000));
    assert_eq!(
        peek(&c, &next),
        0,
        "an old window's count is not this one's"
    );
    assert_eq!(hit(&c, &next), 1);
    assert_eq!(
        peek(&c, &w),
        0,
        "one row per bucket: the old window is gone"
    );
}

#[test]
fn an_attempt_given_back_frees_its_place_but_never_goes_below_zero_or_into_another_window() {
    let c = migrated();
    let rate = Rate::new(2, 60);
    let w = Window::new("login-failures", "h", rate, Millis(0));
    assert_eq!(hit(&c, &w), 1);
    assert_eq!(hit(&c, &w), 2);
    assert_eq!(give_back(&c, &w), 1);
    assert_eq!(hit(&c, &w), 2, "the place given back is taken again");
    let next = Window::new("login-failures", "h", rate, Millis(60_000));
    assert_eq!(
        give_back(&c, &next),
        0,
        "a later window is not the one counted"
    );
    assert_eq!(peek(&c, &w), 2);
    let empty = Window::new("login-failures", "nobody", rate, Millis(0));
    assert_eq!(give_back(&c, &empty), 0);
    give_back(&c, &w);
    give_back(&c, &w);
    assert_eq!(give_back(&c, &w), 0, "never below zero");
}

#[test]
fn the_sweep_deletes_windows_older_than_a_day() {
    let c = migrated();
    let rate = Rate::new(3, 60);
    let old = Window::new("a", "x", rate, Millis(0));
    let now = Millis(2 * 86_400_000);
    let fresh = Window::new("a", "y", rate, now);
    hit(&c, &old);
    hit(&c, &fresh);
    let purged = exec(&c, &limits::sweep(Window::stale_before(now)));
    assert_eq!(purged, 1);
    assert_eq!(peek(&c, &fresh), 1);
}
