//! Roster's integration tests: the real server over HTTP on a random port, a fresh
//! database per test on SQLite and on PostgreSQL, real SMTP to a sink on loopback.

mod browser_helpers;
mod helpers;
mod smtp_sink;

mod account;
mod account_sessions;
mod accounts_service;
mod admin_users;
mod api;
mod api_tokens;
mod audit;
mod browser;
mod browser_admin_users;
mod browser_invitations;
mod browser_layout;
mod browser_members;
mod browser_password_reset;
mod cli;
mod email;
mod email_change;
mod health;
mod hostile;
mod htmx;
mod invitations;
mod invitations_csv;
mod invitations_manage;
mod invitations_service;
mod members;
mod members_manage;
mod members_service;
mod orgs_service;
mod password_reset;
mod quality;
mod readme_api;
mod seats;
mod security;
mod settings;
mod setup;
mod sign_in;
mod storage;
mod tokens_service;
mod two_factor;
mod users_service;
