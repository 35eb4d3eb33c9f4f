//! The HTTP surface as plain data: the route table, request-body rules and typed field reading.
//! The shell feeds it what it read off the wire; nothing here imports `worker`.

pub mod body;
pub mod cors;
pub mod fields;
pub mod openapi;
pub mod routes;
pub mod views;
