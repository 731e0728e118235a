//! Pure types and rules: parsed values that cannot be invalid past the edge, and the
//! permission table.

pub mod access;
pub mod account;
pub mod audit;
pub mod delivery;
pub mod domain_name;
pub mod email;
pub mod invitation;
pub mod local_path;
pub mod member;
pub mod password;
pub mod permissions;
pub mod role;
pub mod settings;
pub mod team;
pub mod text;
pub mod token;
pub mod two_factor;
pub mod user_agent;
pub mod webhook;

pub use account::AccountStatus;
pub use domain_name::DomainName;
pub use email::Email;
pub use local_path::LocalPath;
pub use member::MemberStatus;
pub use role::Role;

use std::collections::BTreeMap;

/// Messages for the fields of a form, by field name; empty when the form is valid.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<&'static str, String>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    /// The message for `field`, if any (templates call this).
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
