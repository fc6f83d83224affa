//! Integration tests: the real server against a real PostgreSQL and a real S3 store.

// Test code: a failed unwrap or expect is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod admin_cli;
mod auth;
mod check;
mod cli;
mod cluster;
mod config_errors;
mod connections;
mod crash;
mod credentials;
mod fault;
mod files_find;
mod garage;
mod health;
mod helpers;
mod integrity;
mod metrics;
mod overload;
mod pages;
mod requests;
mod resilience;
mod shares;
mod storage;
mod storage_check;
mod sweeper;
mod tokens;
mod upload;
mod webhooks;
