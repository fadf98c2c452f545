//! Hints shown next to inputs; the rules themselves are enforced on the server (`validate`).

pub const MIN_PASSWORD_HINT: &str = "At least 8 characters.";
