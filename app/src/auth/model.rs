//! Account types the browser sees.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::workspaces::model::WorkspaceSummary;

/// Colour scheme preference; `System` follows the operating system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "Match my system",
            Theme::Light => "Light",
            Theme::Dark => "Dark",
        }
    }

    pub fn parse(value: &str) -> Option<Theme> {
        Theme::ALL.into_iter().find(|t| t.as_str() == value)
    }
}

/// The name of the cookie that carries the theme, so the server renders the right one at once.
pub const THEME_COOKIE: &str = "flowdeck_theme";

/// The signed-in person, as the app shell needs them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Viewer {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub timezone: String,
    pub theme: Theme,
    pub is_admin: bool,
    pub workspaces: Vec<WorkspaceSummary>,
    pub last_workspace_id: Option<Uuid>,
}

impl Viewer {
    /// The workspace `/` opens: the last one visited, else the first.
    pub fn home_workspace(&self) -> Option<Uuid> {
        self.last_workspace_id
            .filter(|id| self.workspaces.iter().any(|w| w.id == *id))
            .or_else(|| self.workspaces.first().map(|w| w.id))
    }
}

/// What the sign-in screens need to know before anyone is signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInOptions {
    /// No account exists yet: the first visitor creates the owner.
    pub setup_needed: bool,
    pub open_signup: bool,
}

/// Only local paths are followed after sign-in, never another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/login")
                && !p.chars().any(|c| c == '\\' || c.is_whitespace() || c.is_control()) =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_kept_local() {
        assert_eq!(safe_next(Some("/w/1/members?x=1")), "/w/1/members?x=1");
        for bad in
            ["https://evil.example", "//evil.example", "/\\evil", "/login?next=/x", "", "/\t/evil.example", "/\n"]
        {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
