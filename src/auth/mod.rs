//! Who is asking: the session, the signed-in user, their membership, and the guards
//! (CSRF, throttling) in front of state changes.

pub mod cookies;
pub mod csrf;
pub mod device;
pub mod extract;
pub mod flash;
pub mod passwords;
pub mod session;
pub mod store;
pub mod throttle;

pub use extract::{ClientIp, CurrentUser, InstanceAdmin, OrgMember};
