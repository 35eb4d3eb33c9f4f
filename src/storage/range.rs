//! HTTP `Range: bytes=…` for downloads (RFC 9110 §14). One range is served; anything else is
//! ignored (the full object is sent), as the RFC allows.

/// A satisfiable range, inclusive bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

impl ByteRange {
    pub fn length(self) -> u64 {
        self.end - self.start + 1
    }

    /// `bytes start-end/size`.
    pub fn content_range(self, size: u64) -> String {
        format!("bytes {}-{}/{size}", self.start, self.end)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeOutcome {
    /// No (usable) Range header: send everything with 200.
    Full,
    /// Send this part with 206.
    Partial(ByteRange),
    /// 416 with `Content-Range: bytes */size`.
    Unsatisfiable,
}

pub fn parse(header: Option<&str>, size: u64) -> RangeOutcome {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeOutcome::Full;
    };
    if spec.contains(',') {
        return RangeOutcome::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeOutcome::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    let parse = |s: &str| s.parse::<u64>().ok();
    match (a.is_empty(), b.is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => match parse(b) {
            Some(0) => RangeOutcome::Unsatisfiable,
            Some(n) if size > 0 => RangeOutcome::Partial(ByteRange {
                start: size.saturating_sub(n),
                end: size - 1,
            }),
            Some(_) => RangeOutcome::Unsatisfiable,
            None => RangeOutcome::Full,
        },
        // bytes=A-: from A to the end.
        (false, true) => match parse(a) {
            Some(start) if start < size => RangeOutcome::Partial(ByteRange {
                start,
                end: size - 1,
            }),
            Some(_) => RangeOutcome::Unsatisfiable,
            None => RangeOutcome::Full,
        },
        (false, false) => match (parse(a), parse(b)) {
            (Some(start), Some(end)) if start <= end => {
                if start >= size {
                    RangeOutcome::Unsatisfiable
                } else {
                    RangeOutcome::Partial(ByteRange {
                        start,
                        end: end.min(size - 1),
                    })
                }
            }
            _ => RangeOutcome::Full,
        },
        (true, true) => RangeOutcome::Full,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(start: u64, end: u64) -> RangeOutcome {
        RangeOutcome::Partial(ByteRange { start, end })
    }

    #[test]
    fn single_ranges_are_served() {
        assert_eq!(parse(Some("bytes=0-9"), 100), p(0, 9));
        assert_eq!(parse(Some("bytes=90-"), 100), p(90, 99));
        assert_eq!(parse(Some("bytes=-10"), 100), p(90, 99));
        assert_eq!(parse(Some("bytes=-1000"), 100), p(0, 99));
        assert_eq!(parse(Some("bytes=50-1000"), 100), p(50, 99));
    }

    #[test]
    fn ranges_past_the_end_are_unsatisfiable() {
        assert_eq!(parse(Some("bytes=100-"), 100), RangeOutcome::Unsatisfiable);
        assert_eq!(
            parse(Some("bytes=200-300"), 100),
            RangeOutcome::Unsatisfiable
        );
        assert_eq!(parse(Some("bytes=-0"), 100), RangeOutcome::Unsatisfiable);
    }

    #[test]
    fn malformed_or_multiple_ranges_fall_back_to_the_full_body() {
        for h in [
            "bytes=a-b",
            "items=0-1",
            "bytes=5-1",
            "bytes=0-1,3-4",
            "bytes=-",
            "bytes",
        ] {
            assert_eq!(parse(Some(h), 100), RangeOutcome::Full, "{h}");
        }
        assert_eq!(parse(None, 100), RangeOutcome::Full);
    }

    #[test]
    fn content_range_is_formatted() {
        assert_eq!(
            ByteRange { start: 0, end: 9 }.content_range(100),
            "bytes 0-9/100"
        );
        assert_eq!(ByteRange { start: 0, end: 9 }.length(), 10);
    }
}
