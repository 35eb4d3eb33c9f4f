//! Statements of the rate limits' fixed windows (`domain::rate`): counted in one upsert, so
//! concurrent requests cannot both read the same count.

use crate::args;
use crate::domain::rate::Window;

use super::Stmt;

/// Counts one event in `w` and returns the count including it (`hits`); a new window restarts
/// at 1.
pub fn hit(w: &Window) -> Stmt {
    Stmt::new(
        "insert into rate_windows (bucket, window_start, hits) values (?1, ?2, 1) \
         on conflict (bucket) do update set \
           hits = case when rate_windows.window_start = excluded.window_start \
                       then rate_windows.hits + 1 else 1 end, \
           window_start = excluded.window_start \
         returning hits",
        args![w.bucket.as_str(), w.start],
    )
}

/// Gives back one event counted by [`hit`] in the same window (a password attempt is counted
/// before it is verified, and returned when it proves right).
pub fn give_back(w: &Window) -> Stmt {
    Stmt::new(
        "update rate_windows set hits = hits - 1 where bucket = ?1 and window_start = ?2 and hits > 0",
        args![w.bucket.as_str(), w.start],
    )
}

/// Sweep: windows that started before `before` (a Unix time in seconds).
pub fn sweep(before: i64) -> Stmt {
    Stmt::new(
        "delete from rate_windows where window_start < ?1",
        args![before],
    )
}
