package mail

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/text/encoding/htmlindex"

	"github.com/obmen/obmen/internal/crm"
)

// Letter is an ordinary e-mail read for a lead (a collector in ModeAny):
// who wrote, about what, the text, and the files.
type Letter struct {
	FromName  string
	FromEmail string
	Subject   string
	MessageID string
	// Text is the plain-text body, or the HTML body made text when the
	// message has no plain part; quoted replies are kept (they are what
	// the customer answers to).
	Text string
	// Phone is the first Russian phone number found in the body (a
	// signature), "" when none.
	Phone string
	// AutoReply says why the message is an automatic one (a bounce, an
	// out-of-office reply), "" for a person's letter.
	AutoReply   string
	Attachments []Attachment
}

// maxText bounds a letter's text kept on the lead.
const maxText = 60000

// ParseLetter reads a raw RFC 5322 message as a person's letter: the
// sender, the subject and Message-ID (RFC 2047 words in UTF-8,
// windows-1251, KOI8-R decoded), the body text in any charset and
// transfer encoding (multipart/alternative: the plain part; HTML only:
// its text, without scripts and styles), and its attachments.
func ParseLetter(raw []byte) (Letter, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Letter{}, fmt.Errorf("mail: read message: %w", err)
	}
	h := m.Header
	l := Letter{Subject: strings.TrimSpace(DecodeHeader(h.Get("Subject"))), MessageID: strings.TrimSpace(h.Get("Message-Id"))}
	from := h.Get("From")
	if from == "" {
		from = h.Get("Sender")
	}
	if from != "" {
		ap := mail.AddressParser{WordDecoder: wordDecoder}
		if a, err := ap.Parse(from); err == nil {
			l.FromName, l.FromEmail = strings.TrimSpace(a.Name), strings.TrimSpace(a.Address)
		} else if a, err := ap.Parse(DecodeHeader(from)); err == nil {
			l.FromName, l.FromEmail = strings.TrimSpace(a.Name), strings.TrimSpace(a.Address)
		}
	}
	if l.FromName == l.FromEmail {
		l.FromName = ""
	}
	l.Subject, l.FromName = strings.ToValidUTF8(l.Subject, "\uFFFD"), strings.ToValidUTF8(l.FromName, "\uFFFD")
	l.AutoReply = autoReply(h, l.FromEmail)
	var b bodies
	err = walkMIME(headerOf(h), m.Body, b.leaf)
	if err != nil {
		return l, err
	}
	l.Attachments = b.atts
	switch {
	case b.plain != "":
		l.Text = b.plain
	case b.html != "":
		l.Text = htmlText(b.html)
	}
	l.Text = crm.ClipText(strings.TrimSpace(normalizeNewlines(l.Text)), maxText)
	l.Phone = findPhone(l.Text)
	return l, nil
}

// autoReply names what marks a message as sent by a machine (RFC 3834
// Auto-Submitted, the headers of common autoresponders, a delivery
// report, a mailer daemon's address).
func autoReply(h mail.Header, from string) string {
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && v != "no" {
		return "Auto-Submitted: " + v
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"} {
		if v := strings.TrimSpace(h.Get(k)); v != "" {
			if k == "X-Auto-Response-Suppress" {
				// Outlook sets it on its own auto-replies with "All"
				// and on ordinary mail with narrower values.
				if !strings.EqualFold(v, "All") && !strings.EqualFold(v, "OOF, AutoReply") {
					continue
				}
			}
			return k + ": " + v
		}
	}
	if v := strings.ToLower(h.Get("Precedence")); v == "bulk" || v == "junk" || v == "auto_reply" {
		return "Precedence: " + v
	}
	if mt, params, err := mime.ParseMediaType(h.Get("Content-Type")); err == nil && mt == "multipart/report" {
		return "Content-Type: multipart/report; report-type=" + params["report-type"]
	}
	local, _, _ := strings.Cut(strings.ToLower(from), "@")
	if local == "mailer-daemon" || local == "postmaster" {
		return "From: " + from
	}
	if h.Get("Return-Path") == "<>" {
		return "Return-Path: <>"
	}
	return ""
}

// bodies collects what the walk of a letter finds: the first plain and HTML body
// parts and the attachments.
type bodies struct {
	plain, html string
	atts        []Attachment
}

// leaf takes one part of a letter: the first plain and HTML bodies, the
// rest as attachments (a part over the bound kept by name, TooBig).
func (b *bodies) leaf(p mimePart) error {
	data, err := decodeTransfer(p.cte, p.body)
	if errors.Is(err, errTooBig) && p.name != "" {
		b.atts = append(b.atts, Attachment{Name: DecodeHeader(p.name), Type: p.mt, TooBig: true})
		return nil
	}
	if err != nil {
		return fmt.Errorf("mail: part %q: %w", p.name, err)
	}
	isText := p.mt == "text/plain" || p.mt == "text/html"
	if p.disp != "attachment" && p.name == "" && isText {
		text := decodeCharset(data, p.params["charset"])
		if p.mt == "text/plain" && b.plain == "" {
			b.plain = text
		} else if p.mt == "text/html" && b.html == "" {
			b.html = text
		}
		return nil
	}
	name := p.name
	if name == "" {
		switch p.mt {
		case "message/delivery-status", "message/disposition-notification":
			return nil
		}
		name = "file"
		if exts, _ := mime.ExtensionsByType(p.mt); len(exts) > 0 {
			name += exts[0]
		}
	}
	b.atts = append(b.atts, Attachment{Name: strings.ToValidUTF8(DecodeHeader(name), "\uFFFD"), Type: p.mt, Charset: p.params["charset"], Data: data})
	return nil
}

// decodeCharset makes text of a body in its charset; an unknown charset
// or invalid bytes are read as UTF-8 with the bad bytes replaced.
func decodeCharset(data []byte, charset string) string {
	cs := strings.ToLower(strings.TrimSpace(charset))
	switch cs {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return strings.ToValidUTF8(string(data), "\uFFFD")
	case "cp1251", "x-cp1251":
		cs = "windows-1251"
	}
	enc, err := htmlindex.Get(cs)
	if err != nil {
		return strings.ToValidUTF8(string(data), "\uFFFD")
	}
	out, err := enc.NewDecoder().Bytes(data)
	if err != nil {
		return strings.ToValidUTF8(string(data), "\uFFFD")
	}
	return string(out)
}

// htmlText is the text a person reads in an HTML body: no tags, no
// scripts, styles or head; line breaks at blocks and <br>; entities
// decoded. Nothing of the HTML is kept, so the lead shows no markup.
func htmlText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return collapseBlank(b.String())
		case html.TextToken:
			if skip == 0 {
				// Markup line breaks are spaces; the tags make the lines.
				b.WriteString(strings.Map(func(r rune) rune {
					if r == '\n' || r == '\r' || r == '\t' || r == '\u00a0' {
						return ' '
					}
					return r
				}, string(z.Text())))
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "head", "title":
				if t := z.Token(); t.Type == html.StartTagToken {
					skip++
				}
			case "br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "blockquote", "table":
				b.WriteByte('\n')
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "head", "title":
				if skip > 0 {
					skip--
				}
			case "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "blockquote", "table":
				b.WriteByte('\n')
			}
		}
	}
}

func collapseBlank(s string) string {
	var out []string
	blank := 0
	for _, line := range strings.Split(s, "\n") {
		line = strings.Join(strings.Fields(line), " ")
		if line == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, line)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

func normalizeNewlines(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// phoneRe finds Russian phone numbers as people write them in a
// signature: +7 (916) 123-45-67, 8 916 1234567, +7-916-123-45-67.
var phoneRe = regexp.MustCompile(`(?:\+7|\b8)[\s\-\(\)\.]{0,3}\d{3}[\s\-\(\)\.]{0,3}\d{3}[\s\-\.]?\d{2}[\s\-\.]?\d{2}\b`)

// findPhone returns the first number in text that normalizes as a phone.
func findPhone(text string) string {
	for _, m := range phoneRe.FindAllString(text, 20) {
		if _, ok := crm.NormalizePhone(m); ok {
			return strings.TrimSpace(m)
		}
	}
	return ""
}
