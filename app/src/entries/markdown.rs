//! Markdown to safe HTML, on the server: pulldown-cmark renders, ammonia sanitises. The same
//! function serves the entry page and the editor's live preview, so what you preview is what you
//! get. Nothing from an entry reaches the page without passing through `ammonia`.

use pulldown_cmark::{html, Event, Options, Parser, Tag, TagEnd};

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_SMART_PUNCTUATION
}

/// Renders Markdown to HTML that is safe to insert into a page: no scripts, no event handlers,
/// no `javascript:` (or other non-web) URLs, links opened with `rel="noopener noreferrer"`.
pub fn render(markdown: &str) -> String {
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(markdown, options()));
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&unsafe_html)
        .to_string()
}

/// The first words of an entry as plain text, for lists (computed once, when the entry is saved).
pub fn excerpt(markdown: &str, max_chars: usize) -> String {
    let mut text = String::new();
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            Event::End(
                TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::CodeBlock,
            ) => text.push(' '),
            Event::Start(Tag::Image { .. }) => {}
            _ => {}
        }
        if text.chars().count() > max_chars + 1 {
            break;
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max_chars {
        return text;
    }
    let cut: String = text.chars().take(max_chars).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > max_chars / 2 => cut[..i].to_owned(),
        _ => cut,
    };
    format!("{}…", cut.trim_end_matches([',', '.', ';', ':', ' ']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_markdown_renders() {
        let html = render("# Day one\n\nIt was **good**. [Link](https://example.com)");
        assert!(html.contains("<h1>Day one</h1>"));
        assert!(html.contains("<strong>good</strong>"));
        assert!(html.contains(r#"href="https://example.com""#));
        assert!(html.contains("noopener"));
    }

    #[test]
    fn script_tags_are_removed() {
        let html = render("Hi <script>alert(1)</script> there");
        assert!(!html.to_lowercase().contains("<script"), "{html}");
    }

    #[test]
    fn event_handlers_are_removed() {
        let html = render(r#"<img src="x.png" onerror="alert(1)"> <p onclick="steal()">x</p>"#);
        assert!(
            !html.contains("onerror") && !html.contains("onclick"),
            "{html}"
        );
    }

    #[test]
    fn javascript_urls_are_removed_from_links_and_images() {
        for input in [
            "[click](javascript:alert(1))",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
            "![x](javascript:alert(1))",
            "<a href=\"data:text/html;base64,PHNjcmlwdD4=\">x</a>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<svg onload=alert(1)>",
        ] {
            let html = render(input).to_lowercase();
            assert!(!html.contains("javascript:"), "{input} -> {html}");
            assert!(!html.contains("data:text"), "{input} -> {html}");
            assert!(
                !html.contains("<iframe") && !html.contains("onload"),
                "{input} -> {html}"
            );
        }
    }

    #[test]
    fn style_attributes_cannot_smuggle_content() {
        let html = render(r#"<p style="background:url(javascript:alert(1))">x</p>"#);
        assert!(!html.contains("style="), "{html}");
    }

    #[test]
    fn an_excerpt_is_plain_text_cut_at_a_word() {
        let e = excerpt(
            "# Title\n\nSome **bold** words and a [link](https://x.example) that go on and on",
            30,
        );
        assert!(
            !e.contains('*') && !e.contains('#') && !e.contains("https"),
            "{e}"
        );
        assert!(e.ends_with('…'));
        assert!(e.chars().count() <= 31);
        assert_eq!(excerpt("short", 30), "short");
    }
}
