//! Credentials: password hashing and JWT sessions. Time, salts and secrets are passed in.

pub mod jwt;
pub mod links;
pub mod password;
pub mod tickets;
