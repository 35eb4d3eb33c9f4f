//! Account inputs: email, password rules, display name, preferences and roles (SPEC §1).

use serde_json::Value;

/// A normalised email address (trimmed, lowercased). Unique per account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

/// Longest address RFC 5321 lets through a mail system.
const EMAIL_MAX: usize = 254;

impl Email {
    /// # Errors
    /// A message fit for the `email` field when the text is not a plausible address.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err("is required".into());
        }
        if email.len() > EMAIL_MAX {
            return Err(format!("must be at most {EMAIL_MAX} characters"));
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err("must be an email address like name@example.com".into());
        };
        let plausible = !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if !plausible {
            return Err("must be an email address like name@example.com".into());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that meets the rules. Never logged, never serialised.
pub struct Password(String);

pub const PASSWORD_MIN_CHARS: usize = 10;
/// Upper bound so a hash request cannot be made arbitrarily expensive.
pub const PASSWORD_MAX_BYTES: usize = 1024;

impl Password {
    /// Checks the rules of SPEC §1: length ≥ 10, not all one character class, not the email.
    ///
    /// # Errors
    /// A message fit for the password field.
    pub fn parse(raw: &str, email: Option<&Email>) -> Result<Self, String> {
        if raw.chars().count() < PASSWORD_MIN_CHARS {
            return Err(format!("must be at least {PASSWORD_MIN_CHARS} characters"));
        }
        if raw.len() > PASSWORD_MAX_BYTES {
            return Err(format!("must be at most {PASSWORD_MAX_BYTES} bytes"));
        }
        if character_classes(raw) < 2 {
            return Err(
                "must mix at least two kinds of characters (lowercase, uppercase, digits, symbols)"
                    .into(),
            );
        }
        if let Some(email) = email {
            if raw.trim().to_lowercase() == email.as_str() {
                return Err("must not be your email address".into());
            }
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn character_classes(s: &str) -> usize {
    let mut classes = [false; 4];
    for c in s.chars() {
        let i = if c.is_lowercase() {
            0
        } else if c.is_uppercase() {
            1
        } else if c.is_numeric() {
            2
        } else {
            3
        };
        classes[i] = true;
    }
    classes.iter().filter(|c| **c).count()
}

/// A display name: 1–100 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

pub const DISPLAY_NAME_MAX_CHARS: usize = 100;

impl DisplayName {
    /// # Errors
    /// A message fit for the `display_name` field.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("must not be empty".into());
        }
        if name.chars().count() > DISPLAY_NAME_MAX_CHARS {
            return Err(format!(
                "must be at most {DISPLAY_NAME_MAX_CHARS} characters"
            ));
        }
        if name.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Client preferences: a JSON object the API stores but does not interpret.
#[derive(Debug, Clone, PartialEq)]
pub struct Preferences(String);

pub const PREFERENCES_MAX_BYTES: usize = 16 * 1024;

impl Preferences {
    /// # Errors
    /// A message fit for the `preferences` field.
    pub fn parse(value: &Value) -> Result<Self, String> {
        if !value.is_object() {
            return Err("must be a JSON object".into());
        }
        let text = value.to_string();
        if text.len() > PREFERENCES_MAX_BYTES {
            return Err(format!(
                "must be at most {PREFERENCES_MAX_BYTES} bytes of JSON"
            ));
        }
        Ok(Self(text))
    }

    pub fn as_json(&self) -> &str {
        &self.0
    }
}

/// Role-based access: `admin` can reach `/v1/admin/…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Self::User),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(
            Email::parse("  Ana@Example.COM ").unwrap().as_str(),
            "ana@example.com"
        );
    }

    #[test]
    fn implausible_emails_are_refused() {
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "a b@example.com",
            "ana@.com",
            "ana@example..com",
            "a@b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn short_passwords_are_refused() {
        let err = Password::parse("Ab1Ab1Ab1", None).err().unwrap();
        assert!(err.contains("at least 10"), "{err}");
    }

    #[test]
    fn single_class_passwords_are_refused() {
        for bad in [
            "abcdefghijkl",
            "ABCDEFGHIJKL",
            "123456789012",
            "!!!!!!!!!!!!",
        ] {
            assert!(Password::parse(bad, None).is_err(), "{bad} was accepted");
        }
        assert!(Password::parse("abcdefghij1", None).is_ok());
    }

    #[test]
    fn a_password_equal_to_the_email_is_refused() {
        let email = Email::parse("long.name1@example.com").unwrap();
        let err = Password::parse("Long.Name1@example.com", Some(&email))
            .err()
            .unwrap();
        assert!(err.contains("email"), "{err}");
    }

    #[test]
    fn oversized_passwords_are_refused() {
        assert!(Password::parse(&"aA1".repeat(400), None).is_err());
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Ana ").unwrap().as_str(), "Ana");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"x".repeat(101)).is_err());
        assert!(DisplayName::parse("a\u{0007}b").is_err());
    }

    #[test]
    fn preferences_must_be_a_bounded_object() {
        assert!(Preferences::parse(&serde_json::json!({"theme": "dark"})).is_ok());
        assert!(Preferences::parse(&serde_json::json!([1])).is_err());
        let big = serde_json::json!({"x": "y".repeat(PREFERENCES_MAX_BYTES)});
        assert!(Preferences::parse(&big).is_err());
    }

    #[test]
    fn roles_round_trip() {
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(Role::parse("root"), None);
        assert_eq!(Role::User.as_str(), "user");
    }
}
