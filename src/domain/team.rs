//! A team's name as people type it: one line, 1 to 100 characters, compared without
//! case within its organization.

use super::text;

/// The longest team name.
pub const NAME_MAX: usize = 100;

/// A parsed team name and the key it is unique by in its organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeamName {
    name: String,
    key: String,
}

impl TeamName {
    /// Trimmed, not empty, at most `NAME_MAX` characters, no control character; the
    /// message says what to change.
    pub fn parse(input: &str) -> Result<TeamName, String> {
        let name = text::single_line(input, "a name for the team", NAME_MAX)?;
        let key = name.to_lowercase();
        Ok(TeamName { name, key })
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The name lower-cased (Unicode), as the unique index compares it.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl std::fmt::Display for TeamName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_trimmed_and_keyed_without_case() {
        let name = TeamName::parse("  Platform Ärzte ").unwrap();
        assert_eq!(name.as_str(), "Platform Ärzte");
        assert_eq!(name.key(), "platform ärzte");
    }

    #[test]
    fn empty_long_and_control_names_are_refused_in_words() {
        assert_eq!(
            TeamName::parse("   "),
            Err("Enter a name for the team.".into())
        );
        assert!(TeamName::parse(&"a".repeat(100)).is_ok());
        assert_eq!(
            TeamName::parse(&"a".repeat(101)),
            Err("Use at most 100 characters.".into())
        );
        assert!(TeamName::parse("Plat\0form").is_err());
        assert!(TeamName::parse("Plat\nform").is_err());
    }
}
