//! The checks that gather evidence, one module each, and the registry that lists them. Every
//! check is read-only: it may connect, read files and run read-only commands, but it never
//! changes the system. Each run ends in exactly one [`CheckReport`](crate::contract::CheckReport).

pub mod changes;
pub mod database;
pub mod dns;
pub mod http;
pub mod logs;
pub mod origin;
pub mod registry;
pub mod resources;
pub mod security;
pub mod stack;
pub mod tls;
pub mod upstreams;
