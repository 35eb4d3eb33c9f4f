//! The HTTP surface as plain data: the route table, the OpenAPI documents, request-body rules,
//! CORS and the response views.
//! The shell feeds it what it read off the wire; nothing here imports `worker`.

pub mod body;
pub mod cors;
pub mod openapi;
pub mod replicas;
pub mod routes;
pub mod routing;
pub mod shape;
pub mod views;
