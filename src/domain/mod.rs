//! Domain types that parse their input: once a value has one of these types it is valid.
//! Nothing here imports `worker`; everything is tested natively.

pub mod ids;
pub mod score;
pub mod time;
pub mod user;
