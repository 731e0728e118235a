//! Where to go after signing in: a path on this site, never another one (no open
//! redirect).

use percent_encoding::percent_decode_str;

/// A path (with its query) on this site, safe to send as a `Location`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalPath(String);

/// Longer values are not paths Roster makes.
const MAX_LENGTH: usize = 2048;

impl LocalPath {
    /// Accepts only what a browser resolves to this site's origin whatever it drops or
    /// unescapes on the way: printable ASCII (browsers strip tabs and newlines, so
    /// `/\t/evil.example` becomes `//evil.example`), no backslash (read as a slash),
    /// a single leading slash, and the same again once percent-decoded.
    pub fn parse(input: &str) -> Option<LocalPath> {
        if input.len() > MAX_LENGTH || !input.bytes().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        let decoded: Vec<u8> = percent_decode_str(input).collect();
        for candidate in [input.as_bytes(), &decoded] {
            let bad_byte = |b: &u8| b.is_ascii_control() || *b == b'\\';
            if candidate.first() != Some(&b'/')
                || candidate.get(1) == Some(&b'/')
                || candidate.iter().any(bad_byte)
            {
                return None;
            }
        }
        // The last word goes to a URL parser: the path resolved against this site must
        // stay on it.
        let base = url::Url::parse("http://roster.invalid/").expect("a valid base");
        let resolved = base.join(input).ok()?;
        (resolved.origin() == base.origin()).then(|| LocalPath(input.to_string()))
    }

    /// `input` if it is a local path to the page `path` (with any query, no fragment):
    /// where an action on that page goes back to, e.g. the same filtered view.
    pub fn parse_at(input: &str, path: &str) -> Option<LocalPath> {
        let parsed = LocalPath::parse(input)?;
        let (at, _) = parsed.0.split_once('?').unwrap_or((&parsed.0, ""));
        (at == path && !parsed.0.contains('#')).then_some(parsed)
    }

    /// `input` if it is a local path to the page `path`, else that page itself.
    pub fn at_or(input: &str, path: &str) -> LocalPath {
        LocalPath::parse_at(input, path).unwrap_or_else(|| LocalPath(path.to_string()))
    }

    /// `input` if it is a local path, else the home page.
    pub fn or_home(input: &str) -> LocalPath {
        LocalPath::parse(input).unwrap_or_else(|| LocalPath("/".into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_on_this_site_are_kept() {
        for path in [
            "/",
            "/orgs/a/members",
            "/orgs/a/members?page=2&q=ada%40example.com",
            "/invitations/abc_DEF-123",
            "/orgs/a/members?q=%C3%A9",
        ] {
            assert_eq!(
                LocalPath::parse(path).as_ref().map(LocalPath::as_str),
                Some(path)
            );
        }
    }

    #[test]
    fn known_bypasses_go_home() {
        for evil in [
            "",
            "/\t/evil.example",
            "/%09/evil.example",
            "\t/evil.example",
            "/\n/evil.example",
            "/%0a",
            "/%0d%0aSet-Cookie:x=1",
            "/\\evil.example",
            "\\\\evil.example",
            "/%5Cevil.example",
            "/%5cevil.example",
            "//evil.example",
            "///evil.example",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "https://evil.example",
            "http:evil.example",
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "evil.example",
            "/\u{FF0F}evil.example",
            "/\u{2215}evil.example",
            "/\u{2044}evil.example",
            "/ /evil.example",
            "/%00",
            "/\0",
            "/\u{7f}",
        ] {
            assert_eq!(LocalPath::parse(evil), None, "{evil:?}");
            assert_eq!(LocalPath::or_home(evil).as_str(), "/", "{evil:?}");
        }
    }

    #[test]
    fn a_view_of_the_same_page_is_kept_and_any_other_place_is_not() {
        let members = "/orgs/a/members";
        for kept in [
            "/orgs/a/members",
            "/orgs/a/members?q=ada&role=admin&status=active&sort=email&dir=desc&page=3",
        ] {
            assert_eq!(LocalPath::at_or(kept, members).as_str(), kept);
        }
        for other in [
            "",
            "/orgs/b/members?q=ada",
            "/orgs/a/members/5/remove",
            "/orgs/a/membersx",
            "/orgs/a/settings?x=/orgs/a/members",
            "/orgs/a/members#top",
            "//evil.example/orgs/a/members",
            "https://evil.example/orgs/a/members",
        ] {
            assert_eq!(
                LocalPath::at_or(other, members).as_str(),
                members,
                "{other:?}"
            );
        }
    }

    #[test]
    fn overlong_values_go_home() {
        let long = format!("/{}", "a".repeat(MAX_LENGTH));
        assert_eq!(LocalPath::parse(&long), None);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever is typed, what is followed is a path on this site, and stays one
            /// once a browser drops what it drops and decodes what it decodes.
            #[test]
            fn whatever_is_followed_stays_on_this_site(
                input in prop_oneof![any::<String>(), "[/\\\\%0-9a-fA-F\t\n\r:. a-z]{0,24}"],
            ) {
                let path = LocalPath::or_home(&input);
                let base = url::Url::parse("http://roster.invalid/").unwrap();
                let browser_sees: String = path.as_str().chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
                prop_assert_eq!(base.join(&browser_sees).unwrap().origin(), base.origin());
                let decoded = percent_decode_str(path.as_str()).decode_utf8_lossy().into_owned();
                prop_assert!(!decoded.starts_with("//") && !decoded.contains('\\'));
                prop_assert!(!decoded.chars().any(char::is_control));
            }

            /// Paths shaped like the ones Roster links to are kept as they are.
            #[test]
            fn ordinary_paths_are_kept(
                segments in proptest::collection::vec("[a-z0-9_-]{1,12}", 1..5),
                query in proptest::option::of("[a-z]{1,8}=[a-z0-9%]{0,12}"),
            ) {
                let mut path = format!("/{}", segments.join("/"));
                if let Some(query) = query {
                    path = format!("{path}?{query}");
                }
                let decoded_ok = percent_decode_str(&path).all(|b| !b.is_ascii_control() && b != b'\\' );
                prop_assume!(decoded_ok);
                prop_assert_eq!(LocalPath::parse(&path).map(|p| p.as_str().to_string()), Some(path));
            }
        }
    }
}
