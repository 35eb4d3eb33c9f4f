//! Which D1 database holds a row (docs/scaling.md, plan A): every user belongs to one of 256
//! virtual shards, the first byte of the random part of their id, and every id made for their
//! library (scores, setlists, links, tickets, …) carries the same byte, so a request finds its
//! database from the id in its path, or from the caller's id, without a lookup. The virtual
//! shards are spread over the configured databases in contiguous ranges, so adding a database
//! moves whole ranges and no id ever changes.
//!
//! What is not one user's — the `users` rows themselves — is written to every database (a
//! member's row must be where the owner's setlist is), with the first database as the one that
//! decides (emails are unique there first).

/// How many virtual shards there are (fixed forever: one byte of every id).
pub const VSHARDS: usize = 256;

/// The virtual shard an id (`prefix_` + hex) belongs to; `None` for anything else.
pub fn vshard(id: &str) -> Option<u8> {
    let (_, hex) = id.split_once('_')?;
    let pair = hex.get(..2)?;
    u8::from_str_radix(pair, 16).ok()
}

/// Random bytes for an id of virtual shard `vshard` (the first byte; 120 random bits remain).
pub fn stamp(vshard: u8, random: &mut [u8]) {
    if let Some(first) = random.first_mut() {
        *first = vshard;
    }
}

/// Which of `databases` databases holds virtual shard `vshard`: contiguous ranges, the first
/// database taking shards 0.., so one database holds everything.
pub fn database(vshard: u8, databases: usize) -> usize {
    usize::from(vshard) * databases.max(1) / VSHARDS
}

/// The database of the owner of `id`; the first for something that is not an id.
pub fn database_of(id: &str, databases: usize) -> usize {
    vshard(id).map_or(0, |v| database(v, databases))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{new_id, ID_RANDOM_BYTES};

    #[test]
    fn an_id_carries_its_owners_virtual_shard() {
        let mut random = [0x5a; ID_RANDOM_BYTES];
        stamp(0xc3, &mut random);
        let id = new_id("sco", &random);
        assert_eq!(vshard(&id), Some(0xc3));
        assert_eq!(vshard("usr_00ff"), Some(0));
        assert_eq!(vshard("nothing"), None);
        assert_eq!(vshard("usr_"), None);
        assert_eq!(vshard("usr_zz"), None);
    }

    #[test]
    fn shards_split_into_contiguous_ranges_and_one_database_holds_all() {
        for v in 0..=255u8 {
            assert_eq!(database(v, 1), 0);
        }
        assert_eq!(database(0, 2), 0);
        assert_eq!(database(127, 2), 0);
        assert_eq!(database(128, 2), 1);
        assert_eq!(database(255, 2), 1);
        assert_eq!(database(255, 3), 2);
        assert_eq!(database(0, 0), 0);
        assert_eq!(database_of("forged", 2), 0);
        assert_eq!(database_of("set_ff00", 2), 1);
    }
}
