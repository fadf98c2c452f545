//! Input parsed once into small validated types; each failure names its form field.

use crate::error::AppError;

/// The largest payload a member may send or store (1 MiB): webhook bodies, run inputs, step
/// inputs and outputs, pinned test data.
pub const PAYLOAD_LIMIT: usize = 1024 * 1024;

fn trimmed_len(field: &str, label: &str, value: &str, max: usize) -> Result<String, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::validation(field, format!("{label} is required.")));
    }
    if value.chars().count() > max {
        return Err(AppError::validation(field, format!("{label} must be at most {max} characters.")));
    }
    if value.chars().any(char::is_control) {
        return Err(AppError::validation(field, format!("{label} must not contain control characters.")));
    }
    Ok(value.to_owned())
}

/// A required single-line text, trimmed, of at most `max` characters.
pub fn bounded(field: &str, label: &str, value: &str, max: usize) -> Result<String, AppError> {
    trimmed_len(field, label, value, max)
}

/// An optional free text (may be empty), trimmed, of at most `max` characters.
pub fn optional_text(field: &str, label: &str, value: &str, max: usize) -> Result<String, AppError> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(AppError::validation(field, format!("{label} must be at most {max} characters.")));
    }
    Ok(value.to_owned())
}

/// A person's display name.
pub fn person_name(value: &str) -> Result<String, AppError> {
    trimmed_len("name", "Name", value, 100)
}

/// A workspace's name.
pub fn workspace_name(field: &str, value: &str) -> Result<String, AppError> {
    trimmed_len(field, "Workspace name", value, 80)
}

/// An email address, lower-cased.
pub fn email(value: &str) -> Result<String, AppError> {
    let value = value.trim().to_lowercase();
    if value.is_empty() {
        return Err(AppError::validation("email", "Email is required."));
    }
    if value.len() > 254 || !email_address::EmailAddress::is_valid(&value) || !value.contains('.') {
        return Err(AppError::validation("email", "Enter a valid email address, like ada@example.com."));
    }
    Ok(value)
}

pub const MIN_PASSWORD: usize = 8;
const MAX_PASSWORD: usize = 256;

/// A new password (the current one is only compared, never validated).
pub fn new_password(field: &str, value: &str) -> Result<String, AppError> {
    let n = value.chars().count();
    if n < MIN_PASSWORD {
        return Err(AppError::validation(field, format!("Password must be at least {MIN_PASSWORD} characters.")));
    }
    if n > MAX_PASSWORD {
        return Err(AppError::validation(field, format!("Password must be at most {MAX_PASSWORD} characters.")));
    }
    Ok(value.to_owned())
}

/// An IANA time zone name such as `Europe/Berlin`.
pub fn timezone(value: &str) -> Result<String, AppError> {
    value
        .trim()
        .parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_owned())
        .map_err(|_| AppError::validation("timezone", "Choose a time zone from the list, like Europe/Berlin."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(r: Result<String, AppError>) -> String {
        r.err().and_then(|e| e.field().map(str::to_owned)).unwrap_or_default()
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(email("  Ada@Example.COM ").ok().as_deref(), Some("ada@example.com"));
        assert_eq!(field_of(email("not-an-email")), "email");
        assert_eq!(field_of(email("")), "email");
        assert_eq!(field_of(email(&format!("{}@x.io", "a".repeat(260)))), "email");
    }

    #[test]
    fn passwords_have_length_bounds() {
        assert!(new_password("password", "12345678").is_ok());
        assert_eq!(field_of(new_password("password", "1234567")), "password");
        assert_eq!(field_of(new_password("new_password", &"x".repeat(257))), "new_password");
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(person_name("  Ada Lovelace ").ok().as_deref(), Some("Ada Lovelace"));
        assert_eq!(field_of(person_name("   ")), "name");
        assert_eq!(field_of(person_name(&"n".repeat(101))), "name");
        assert_eq!(field_of(workspace_name("workspace_name", "a\u{7}b")), "workspace_name");
    }

    #[test]
    fn time_zones_must_be_iana_names() {
        assert_eq!(timezone("Europe/Berlin").ok().as_deref(), Some("Europe/Berlin"));
        assert_eq!(field_of(timezone("Mars/Olympus")), "timezone");
    }
}
