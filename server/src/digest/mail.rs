//! A digest as an e-mail — plain text with an HTML alternative, a
//! one-click unsubscribe (`List-Unsubscribe`, RFC 8058) — and the mail
//! server it goes through (lettre: STARTTLS required, or TLS; the public
//! roots plus a trust's own certificate authority if given).

use std::fmt::Write;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use plait_shared::digest::{my_work_path, Digest, Schedule};
use plait_shared::{Date, DocId};

use crate::config::{SmtpSecurity, SmtpSettings};

/// One digest, ready to be written as an e-mail.
#[derive(Debug)]
pub struct Letter<'a> {
    /// Whom to (their display name).
    pub to_name: &'a str,
    /// Their address.
    pub to_email: &'a str,
    /// The programme.
    pub programme: &'a DocId,
    /// Its name.
    pub programme_name: &'a str,
    /// What needs them.
    pub digest: &'a Digest,
    /// Where people reach Plait (no trailing `/`).
    pub public_url: &'a str,
    /// Their one-click unsubscribe link.
    pub unsubscribe_url: String,
    /// The programme's schedule, for a weekly digest (none on demand).
    pub schedule: Option<Schedule>,
    /// The day it is about.
    pub today: Date,
}

impl Letter<'_> {
    fn programme_title(&self) -> &str {
        if self.programme_name.trim().is_empty() {
            self.programme.as_str()
        } else {
            self.programme_name.trim()
        }
    }

    /// The subject line.
    pub fn subject(&self) -> String {
        let n = self.digest.count();
        let things = if n == 1 {
            "1 thing needs"
        } else {
            "things need"
        };
        let count = if n == 1 {
            String::new()
        } else {
            format!("{n} ")
        };
        format!(
            "Plait: {count}{things} you in {} ({})",
            self.programme_title(),
            self.today.long()
        )
    }

    fn my_work(&self) -> String {
        format!("{}{}", self.public_url, my_work_path(self.programme))
    }

    fn why(&self) -> String {
        match self.schedule {
            Some(schedule) => format!(
                "You get this every {} because you are a member of {}.",
                schedule.describe(),
                self.programme_title()
            ),
            None => "You asked for this list in Plait.".to_owned(),
        }
    }

    /// The plain-text part.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "What needs you in {}, {} ({}):",
            self.programme_title(),
            self.to_name,
            self.today.long()
        );
        for section in &self.digest.sections {
            let _ = writeln!(
                out,
                "\n{} ({})",
                section.heading,
                section.items.len() + section.more
            );
            for item in &section.items {
                let _ = writeln!(out, "- {} {}", item.reference, item.title);
                let _ = writeln!(out, "  {}{}", item.note, due_suffix(item.due, &item.note));
                let _ = writeln!(out, "  {}{}", self.public_url, item.path);
            }
            if section.more > 0 {
                let _ = writeln!(
                    out,
                    "  and {} more on My work: {}",
                    section.more,
                    self.my_work()
                );
            }
        }
        let _ = writeln!(out, "\nEverything, up to date: {}", self.my_work());
        let _ = writeln!(out, "\n--\n{}", self.why());
        let _ = writeln!(
            out,
            "Stop these e-mails: {}\n(or on My work in Plait).",
            self.unsubscribe_url
        );
        out
    }

    /// The HTML part (every text escaped; links only into Plait).
    pub fn html(&self) -> String {
        let mut out = String::from(
            "<!DOCTYPE html><html lang=\"en-GB\"><head><meta charset=\"utf-8\"><title>",
        );
        out += &escape(&self.subject());
        out += "</title></head><body style=\"font-family: Arial, sans-serif; color: #212b32\">";
        let _ = write!(
            out,
            "<p>What needs you in <strong>{}</strong>, {} ({}):</p>",
            escape(self.programme_title()),
            escape(self.to_name),
            escape(&self.today.long())
        );
        for section in &self.digest.sections {
            let _ = write!(
                out,
                "<h2 style=\"font-size: 1.1em\">{} ({})</h2><ul>",
                escape(section.heading),
                section.items.len() + section.more
            );
            for item in &section.items {
                let _ = write!(
                    out,
                    "<li><a href=\"{}{}\">{} {}</a><br>{}{}</li>",
                    escape(self.public_url),
                    escape(&item.path),
                    escape(&item.reference),
                    escape(&item.title),
                    escape(&item.note),
                    escape(&due_suffix(item.due, &item.note))
                );
            }
            if section.more > 0 {
                let _ = write!(
                    out,
                    "<li>and <a href=\"{}\">{} more on My work</a></li>",
                    escape(&self.my_work()),
                    section.more
                );
            }
            out += "</ul>";
        }
        let _ = write!(
            out,
            "<p><a href=\"{}\">Everything, up to date, on My work</a></p><hr><p style=\"font-size: 0.9em\">{} <a href=\"{}\">Stop these e-mails</a> (or on My work in Plait).</p></body></html>",
            escape(&self.my_work()),
            escape(&self.why()),
            escape(&self.unsubscribe_url)
        );
        out
    }
}

/// " (due 30 Nov 2026)" unless the note says the day already.
fn due_suffix(due: Option<Date>, note: &str) -> String {
    match due {
        Some(due) if !note.contains(&due.long()) => format!(" (due {})", due.long()),
        _ => String::new(),
    }
}

/// `text` safe in HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The e-mail of `letter`, from `from`.
///
/// # Errors
/// An address lettre cannot write.
pub fn message(from: &Mailbox, letter: &Letter<'_>) -> Result<Message, String> {
    let to = Mailbox::new(
        Some(letter.to_name.to_owned()),
        letter.to_email.parse().map_err(|e| format!("{e}"))?,
    );
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(letter.subject())
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{}>", letter.unsubscribe_url),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".to_owned(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".to_owned(),
        ))
        .multipart(MultiPart::alternative_plain_html(
            letter.text(),
            letter.html(),
        ))
        .map_err(|e| e.to_string())
}

/// The mail server, as configured.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A transport for `settings`: STARTTLS required (the server must
    /// offer it, or nothing is sent) or TLS from the first byte; the
    /// certificate checked against the public roots and `ca_pem`.
    ///
    /// # Errors
    /// A sender that is not an address, or a CA that is not PEM.
    pub fn new(settings: &SmtpSettings) -> Result<Mailer, String> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| format!("the sender {:?} is not an address: {e}", settings.from))?;
        let mut tls = TlsParameters::builder(settings.host.clone());
        if let Some(pem) = &settings.ca_pem {
            let certificate = Certificate::from_pem(pem)
                .map_err(|e| format!("the SMTP CA file is not PEM certificates: {e}"))?;
            tls = tls.add_root_certificate(certificate);
        }
        let tls = tls.build_rustls().map_err(|e| format!("TLS: {e}"))?;
        let tls = match settings.security {
            SmtpSecurity::StartTls => Tls::Required(tls),
            SmtpSecurity::Tls => Tls::Wrapper(tls),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout));
        if let Some(user) = &settings.user {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                settings.password.clone().unwrap_or_default(),
            ));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
        })
    }

    /// The sender.
    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// Hands `message` to the mail server.
    ///
    /// # Errors
    /// What the server (or the connection, or TLS) said.
    pub async fn send(&self, message: Message) -> Result<(), String> {
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plait_shared::digest::{DigestItem, DigestSection};
    use plait_shared::work::WorkList;

    fn letter(digest: &Digest) -> Letter<'_> {
        static PROGRAMME: std::sync::OnceLock<DocId> = std::sync::OnceLock::new();
        Letter {
            to_name: "D. Hughes",
            to_email: "d.hughes@trust.nhs.uk",
            programme: PROGRAMME.get_or_init(|| DocId::new("demo").unwrap()),
            programme_name: "Quality <Improvement> Programme",
            digest,
            public_url: "https://plait.trust.nhs.uk",
            unsubscribe_url:
                "https://plait.trust.nhs.uk/api/digest/unsubscribe?user=d.hughes&token=t".into(),
            schedule: Some(Schedule::DEFAULT),
            today: Date::from_ymd(2026, 11, 23).unwrap(),
        }
    }

    #[test]
    fn a_digest_reads_as_text_and_as_escaped_html() {
        let digest = Digest {
            sections: vec![DigestSection {
                list: WorkList::Own,
                heading: "Your actions due in the next 14 days or overdue",
                items: vec![DigestItem {
                    reference: "MD001.1".into(),
                    title: "Fit <door> closers & checks".into(),
                    note: "3 days overdue".into(),
                    due: Date::from_ymd(2026, 11, 20).ok(),
                    path: "/p/demo/actions/demo_estates/a-1".into(),
                }],
                more: 2,
            }],
        };
        let letter = letter(&digest);
        assert_eq!(
            letter.subject(),
            "Plait: 3 things need you in Quality <Improvement> Programme (23 Nov 2026)"
        );
        let text = letter.text();
        assert!(text.contains("- MD001.1 Fit <door> closers & checks\n  3 days overdue (due 20 Nov 2026)\n  https://plait.trust.nhs.uk/p/demo/actions/demo_estates/a-1"), "{text}");
        assert!(text.contains("and 2 more on My work: https://plait.trust.nhs.uk/p/demo/my-work"));
        assert!(text.contains("every Monday at 07:00 (UK time)"), "{text}");
        let html = letter.html();
        assert!(
            html.contains("Fit &lt;door&gt; closers &amp; checks"),
            "{html}"
        );
        assert!(!html.contains("<door>"));
        assert!(html.contains(
            "href=\"https://plait.trust.nhs.uk/api/digest/unsubscribe?user=d.hughes&amp;token=t\""
        ));
        let from: Mailbox = "Plait <plait@trust.nhs.uk>".parse().unwrap();
        let formatted = String::from_utf8(message(&from, &letter).unwrap().formatted()).unwrap();
        assert!(formatted.contains("List-Unsubscribe: <https://plait.trust.nhs.uk/api/digest/unsubscribe?user=d.hughes&token=t>"), "{formatted}");
        assert!(formatted.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(formatted.contains("multipart/alternative"));
        assert!(formatted.contains("text/html"));
    }

    #[test]
    fn a_sender_and_a_ca_must_read() {
        let mut settings = SmtpSettings::new("mail.trust.nhs.uk", "not an address");
        assert!(Mailer::new(&settings).is_err());
        settings.from = "Plait <plait@trust.nhs.uk>".into();
        assert!(Mailer::new(&settings).is_ok());
        settings.ca_pem =
            Some(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n".to_vec());
        assert!(Mailer::new(&settings).is_err());
    }
}
