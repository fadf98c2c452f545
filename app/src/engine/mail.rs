//! The email step's SMTP transport (lettre over tokio, TLS with rustls/ring), configured for the
//! instance with `FLOWDECK_SMTP_URL` (`smtp://user:pass@host:587?tls=required`, `smtps://…`, or
//! plain `smtp://host:25`) and `FLOWDECK_SMTP_FROM`. Refusals come back as readable step errors.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::{Value, json};

use crate::engine::failure::StepError;
use crate::workflows::kinds::EmailConfig;

/// Longest a mail server gets to answer each command.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Recipients of one email at most.
const RECIPIENTS_MAX: usize = 50;

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// A mailer for the server at `url` sending as `from` ("Name <address>" or an address).
    pub fn new(url: &str, from: &str) -> Result<Mailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.trim())
            .map_err(|e| format!("FLOWDECK_SMTP_URL is not an SMTP URL: {e}"))?
            .timeout(Some(TIMEOUT))
            .build();
        let from = from.trim().parse().map_err(|e| format!("FLOWDECK_SMTP_FROM “{from}” is not an address: {e}"))?;
        Ok(Mailer { transport, from })
    }

    /// Sends the step's email; the output names the recipients and the server's answer.
    pub async fn send(&self, c: &EmailConfig) -> Result<Value, StepError> {
        let to = recipients(c)?;
        let mut message = Message::builder().from(self.from.clone()).subject(c.subject.trim());
        for mailbox in &to {
            message = message.to(mailbox.clone());
        }
        let message = message
            .header(ContentType::TEXT_PLAIN)
            .body(c.body.clone())
            .map_err(|e| format!("The email could not be built: {e}"))?;
        // A 5xx answer (no such user, refused) stays; a 4xx, a timeout or a lost connection may pass.
        let response = self.transport.send(message).await.map_err(|e| {
            let message = format!("The mail server did not take the email: {e}");
            if e.is_permanent() || e.is_client() { StepError::fatal(message) } else { StepError::transient(message) }
        })?;
        Ok(json!({
            "to": to.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "subject": c.subject.trim(),
            "server": response.message().collect::<Vec<_>>().join(" "),
        }))
    }
}

/// The recipients, each a valid address.
fn recipients(c: &EmailConfig) -> Result<Vec<Mailbox>, String> {
    let to: Vec<Mailbox> =
        c.to.iter()
            .map(|a| a.trim())
            .filter(|a| !a.is_empty())
            .map(|a| a.parse().map_err(|_| format!("“{a}” is not an email address.")))
            .collect::<Result<_, _>>()?;
    match to.len() {
        0 => Err("The email has no recipient.".to_owned()),
        n if n > RECIPIENTS_MAX => {
            Err(format!("The email has {n} recipients; at most {RECIPIENTS_MAX} are sent one email."))
        }
        _ => Ok(to),
    }
}

/// What a simulation records instead of sending (checked like a real email).
pub fn describe(c: &EmailConfig) -> Result<Value, String> {
    let to = recipients(c)?;
    let to: Vec<String> = to.iter().map(ToString::to_string).collect();
    Ok(json!({ "simulated": true, "would_send": { "to": to, "subject": c.subject.trim(), "body": c.body } }))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The transport's connection pool starts a task, so it is built in a runtime.
    #[tokio::test]
    async fn recipients_are_checked() {
        let email = |to: &[&str]| EmailConfig {
            to: to.iter().map(|s| (*s).to_owned()).collect(),
            subject: "Hi".into(),
            body: "Hello".into(),
        };
        assert_eq!(recipients(&email(&["a@example.com", " ", "Bo <b@example.com>"])).map(|r| r.len()), Ok(2));
        assert_eq!(recipients(&email(&[])), Err("The email has no recipient.".to_owned()));
        assert_eq!(recipients(&email(&["nope"])), Err("“nope” is not an email address.".to_owned()));
        let described = describe(&email(&["a@example.com"])).expect("valid");
        assert_eq!(described["would_send"]["to"], json!(["a@example.com"]));
        assert!(Mailer::new("smtp://127.0.0.1:2525", "Flowdeck <flowdeck@example.com>").is_ok());
        assert!(Mailer::new("http://x", "a@example.com").is_err());
        assert!(Mailer::new("smtp://127.0.0.1:2525", "not an address").is_err());
    }
}
