//! Task descriptions: markdown rendered on the server (pulldown-cmark), with any HTML in the
//! source shown as text, then sanitised (ammonia) — links get `rel="noopener noreferrer"`,
//! scripts, styles, event handlers and `javascript:` URLs never get through, and images are
//! dropped (an image from someone's server would tell them who reads the task, and when);
//! task-list checkboxes stay, disabled.

use pulldown_cmark::{Event, Options, Parser, html};

/// `text` as safe HTML.
pub fn render(text: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(text, options).map(|event| match event {
        // Raw HTML in the source is text, not markup.
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut out = String::with_capacity(text.len() * 3 / 2);
    html::push_html(&mut out, events);
    sanitiser().clean(&out).to_string()
}

fn sanitiser() -> &'static ammonia::Builder<'static> {
    static BUILDER: std::sync::OnceLock<ammonia::Builder<'static>> = std::sync::OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut builder = ammonia::Builder::default();
        builder.rm_tags(["img"]).add_tags(["input"]).add_tag_attributes("input", ["type", "checked", "disabled"]);
        builder
    })
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn markdown_renders_and_html_does_not_get_through() {
        assert_eq!(render("**bold** and `code`").trim(), "<p><strong>bold</strong> and <code>code</code></p>");
        let evil = render("<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1))");
        assert!(!evil.contains("<script") && !evil.contains("<img") && !evil.contains("javascript:"), "{evil}");
        assert!(evil.contains("&lt;script&gt;"), "shown as text: {evil}");
        let tracked = render("![pixel](https://attacker.example/p.gif)");
        assert!(!tracked.contains("<img"), "{tracked}");
        let done = render("- [x] booked\n- [ ] paid");
        assert!(done.contains("checkbox") && done.contains("checked"), "{done}");
        let link = render("[docs](https://example.com)");
        assert!(link.contains("href=\"https://example.com\"") && link.contains("noopener"), "{link}");
    }
}
