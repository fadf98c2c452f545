//! Credential types the browser sees: never the value.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialView {
    pub id: Uuid,
    pub name: String,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
    /// Where steps may send it; empty until someone who manages credentials names them.
    pub hosts: Vec<String>,
}

/// Whether `host` is one of `hosts`: the same name, or a subdomain of a `*.domain` entry.
pub fn host_allowed(hosts: &[String], host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    hosts.iter().any(|h| match h.strip_prefix("*.") {
        Some(domain) => host.strip_suffix(domain).is_some_and(|sub| sub.ends_with('.') && sub.len() > 1),
        None => *h == host,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_match_exactly_or_as_subdomains_of_a_wildcard() {
        let hosts = vec!["api.openai.com".to_owned(), "*.example.com".to_owned()];
        assert!(host_allowed(&hosts, "api.openai.com"));
        assert!(host_allowed(&hosts, "API.OpenAI.com."));
        assert!(host_allowed(&hosts, "eu.example.com"));
        assert!(host_allowed(&hosts, "a.b.example.com"));
        assert!(!host_allowed(&hosts, "example.com"), "a wildcard is for subdomains");
        assert!(!host_allowed(&hosts, "evilexample.com"));
        assert!(!host_allowed(&hosts, "openai.com"));
        assert!(!host_allowed(&hosts, "api.openai.com.evil.net"));
        assert!(!host_allowed(&[], "api.openai.com"));
    }
}
