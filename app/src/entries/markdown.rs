//! Markdown to safe HTML, on the server: pulldown-cmark renders, ammonia sanitises. The same
//! function serves the entry page and the editor's live preview, so what you preview is what you
//! get. Nothing from an entry reaches the page without passing through `ammonia`.

use crate::media::repo::PhotoInfo;
use pulldown_cmark::{html, Event, Options, Parser, Tag, TagEnd};
use std::collections::HashMap;

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_SMART_PUNCTUATION
}

/// Renders Markdown to HTML that is safe to insert into a page: no scripts, no event handlers,
/// no `javascript:` (or other non-web) URLs, links opened with `rel="noopener noreferrer"`.
pub fn render(markdown: &str) -> String {
    render_with_photos(markdown, &HashMap::new())
}

/// Like [`render`], and the person's own photos (`![caption](/media/<id>)`, sizes in `photos`)
/// become responsive images: smaller sizes in `srcset`, width and height set so the page does not
/// jump while they load, `loading="lazy"`, inside a link that opens the photo full size (the
/// caption is the link's accessible name). A `/media/` image not in `photos` (someone else's,
/// deleted) shows its caption and "photo not available" instead.
pub fn render_with_photos(markdown: &str, photos: &HashMap<String, PhotoInfo>) -> String {
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    let mut events = Parser::new_ext(markdown, options());
    let mut out: Vec<Event> = Vec::new();
    while let Some(event) = events.next() {
        let photo = match &event {
            Event::Start(Tag::Image { dest_url, .. }) => dest_url
                .strip_prefix(crate::media::MEDIA_PATH)
                .map(|rest| rest.split(['?', '#']).next().unwrap_or(rest))
                .map(|id| (id.to_owned(), photos.get(id).copied())),
            _ => None,
        };
        let Some((id, info)) = photo else {
            out.push(event);
            continue;
        };
        // The caption: the image's text, up to its end.
        let mut alt = String::new();
        let mut depth = 1;
        for inner in events.by_ref() {
            match inner {
                Event::Start(Tag::Image { .. }) => depth += 1,
                Event::End(TagEnd::Image) => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                Event::Text(t) | Event::Code(t) => alt.push_str(&t),
                _ => {}
            }
        }
        let html = match info {
            Some(info) => photo_html(&id, info, &alt),
            // Not this person's photo (deleted, someone else's, or one an import could not
            // bring): its caption, not a broken image the server would answer with 404.
            None => format!(
                r#"<span class="photo-missing">{}</span>"#,
                escape_attribute(&missing_caption(&alt))
            ),
        };
        out.push(Event::InlineHtml(html.into()));
    }
    html::push_html(&mut unsafe_html, out.into_iter());
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"))
        .add_tag_attributes("img", &["srcset", "sizes", "loading", "decoding"])
        .add_tag_attributes("a", &["class"])
        .add_tag_attributes("span", &["class"])
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            // Only Quire's own photos in `srcset` (ammonia does not check URLs there), and only
            // the class the photo link uses.
            ("img", "srcset") => value
                .split(',')
                .all(|candidate| candidate.trim().starts_with(crate::media::MEDIA_PATH))
                .then(|| value.into()),
            ("a", "class") => (value == "photo").then(|| value.into()),
            ("span", "class") => (value == "photo-missing").then(|| value.into()),
            _ => Some(value.into()),
        })
        .clean(&unsafe_html)
        .to_string()
}

fn escape_attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn missing_caption(alt: &str) -> String {
    match alt.trim() {
        "" => "(photo not available)".to_owned(),
        alt => format!("({alt}: photo not available)"),
    }
}

/// One photo: a link to the full size around a responsive image.
fn photo_html(id: &str, info: PhotoInfo, alt: &str) -> String {
    use crate::media::image::{LARGE, SMALL};
    let url = format!("{}{id}", crate::media::MEDIA_PATH);
    let alt = escape_attribute(alt.trim());
    let (w, h) = (info.width.max(1), info.height.max(1));
    let longest = w.max(h);
    let scaled = |side: u32| (u64::from(w) * u64::from(side) / u64::from(longest)).max(1);
    // An animated GIF is shown as it is: its smaller size is a still.
    let mut candidates = Vec::new();
    if !info.animated {
        if longest > SMALL {
            candidates.push(format!("{url}?size=small {}w", scaled(SMALL)));
        }
        if longest > LARGE {
            candidates.push(format!("{url}?size=large {}w", scaled(LARGE)));
        }
    }
    let src = if !info.animated && longest > LARGE {
        format!("{url}?size=large")
    } else {
        url.clone()
    };
    let srcset = if candidates.is_empty() {
        String::new()
    } else {
        candidates.push(format!("{url} {w}w"));
        format!(
            r#" srcset="{}" sizes="(min-width: 50rem) 46rem, 100vw""#,
            candidates.join(", ")
        )
    };
    format!(
        r#"<a class="photo" href="{url}"><img src="{src}"{srcset} width="{w}" height="{h}" loading="lazy" decoding="async" alt="{alt}"></a>"#
    )
}

/// The first words of an entry as plain text, for lists (computed once, when the entry is saved).
pub fn excerpt(markdown: &str, max_chars: usize) -> String {
    let mut text = String::new();
    // A photo's caption is not part of what the entry says (the list shows the photo itself).
    let mut in_image = 0usize;
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(Tag::Image { .. }) => in_image += 1,
            Event::End(TagEnd::Image) => in_image = in_image.saturating_sub(1),
            Event::Text(_) | Event::Code(_) if in_image > 0 => {}
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            Event::End(
                TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::CodeBlock,
            ) => text.push(' '),
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
    fn own_photos_become_responsive_images_inside_a_full_size_link() {
        let id = "AAAAAAAAAAAAAAAAAAAAAA";
        let photos = HashMap::from([(
            id.to_owned(),
            PhotoInfo {
                width: 4000,
                height: 3000,
                animated: false,
                extension: "jpg",
            },
        )]);
        let html = render_with_photos(&format!("![Sea & sky](/media/{id})"), &photos);
        assert!(
            html.contains(&format!(r#"<a class="photo" href="/media/{id}""#)),
            "{html}"
        );
        assert!(
            html.contains(&format!(r#"src="/media/{id}?size=large""#)),
            "{html}"
        );
        assert!(
            html.contains(&format!("/media/{id}?size=small 480w")),
            "{html}"
        );
        assert!(
            html.contains(&format!("/media/{id}?size=large 1600w")),
            "{html}"
        );
        assert!(html.contains(&format!("/media/{id} 4000w")), "{html}");
        assert!(
            html.contains(r#"width="4000""#) && html.contains(r#"height="3000""#),
            "{html}"
        );
        assert!(html.contains(r#"loading="lazy""#), "{html}");
        assert!(html.contains(r#"alt="Sea &amp; sky""#), "{html}");
    }

    #[test]
    fn a_photo_that_is_not_the_persons_shows_its_caption_instead() {
        let html = render_with_photos("![Beach](/media/BBBBBBBBBBBBBBBBBBBBBB)", &HashMap::new());
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("(Beach: photo not available)"), "{html}");
    }

    #[test]
    fn a_srcset_pointing_elsewhere_is_removed() {
        let html = render(r#"<img src="/media/x" srcset="https://tracker.example/p.png 1x">"#);
        assert!(!html.contains("tracker"), "{html}");
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

    #[test]
    fn an_excerpt_leaves_photo_captions_out() {
        assert_eq!(
            excerpt("Before.\n\n![sunset over the bay](/media/x)\n\nAfter.", 80),
            "Before. After."
        );
    }
}
