//! Roster: invite, manage and remove the people of an organization.

pub mod accounts;
pub mod audit_log;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod email;
pub mod error;
pub mod first_run;
pub mod invitations;
pub mod members;
pub mod orgs;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tokens;
pub mod users;
