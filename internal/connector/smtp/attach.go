package smtp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// Attachment is a file to attach: by URL (fetched through the outbound
// guard) or a file Obmen keeps (a lead's file, by lead and file id). A
// plain text is a URL.
type Attachment struct {
	URL    string `json:"url,omitempty"`
	LeadID int64  `json:"lead_id,omitempty"`
	FileID int64  `json:"file_id,omitempty"`
	// Name overrides the name taken from the file.
	Name string `json:"name,omitempty"`
}

// UnmarshalJSON takes an object or a URL.
func (a *Attachment) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*a = Attachment{URL: strings.TrimSpace(s)}
		return nil
	}
	type plain Attachment
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return err
	}
	*a = Attachment(p)
	return nil
}

// file is an attachment's content.
type file struct {
	name, ctype string
	data        []byte
}

// MaxAttachment caps one attachment fetched by URL, MaxAttachments all of
// a letter's together.
const (
	MaxAttachment  = 10 << 20
	MaxAttachments = 25 << 20
)

// fetch reads an attachment.
func (d Deps) fetch(ctx context.Context, a Attachment) (file, error) {
	switch {
	case a.URL != "" && (a.FileID != 0 || a.LeadID != 0):
		return file{}, errors.New("give either url or lead_id and file_id")
	case a.FileID != 0:
		if d.Store == nil {
			return file{}, errors.New("files are not available here")
		}
		f, err := d.Store.GetLeadFile(ctx, a.LeadID, a.FileID)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return file{}, fmt.Errorf("no file %d of lead %d", a.FileID, a.LeadID)
			}
			return file{}, err
		}
		return file{name: pick(a.Name, f.Name), ctype: f.ContentType, data: f.Data}, nil
	case a.URL == "":
		return file{}, errors.New("url or lead_id and file_id required")
	}
	u, err := url.Parse(a.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return file{}, fmt.Errorf("%q is not an http(s) address", a.URL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return file{}, err
	}
	resp, err := d.HTTP.Do(req)
	if err != nil {
		// url.Error names the whole URL, its query (a token) included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return file{}, fmt.Errorf("GET %s: %w", httpx.RedactURL(u.String()), httpx.RedactError(err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body.Close()
		return file{}, fmt.Errorf("GET %s: HTTP %d", httpx.RedactURL(u.String()), resp.StatusCode)
	}
	b, err := httpx.ReadLimited(resp, MaxAttachment)
	if errors.Is(err, httpx.ErrResponseTooLarge) {
		return file{}, fmt.Errorf("GET %s: over %d MB", httpx.RedactURL(u.String()), MaxAttachment>>20)
	}
	if err != nil {
		return file{}, fmt.Errorf("GET %s: %w", httpx.RedactURL(u.String()), httpx.RedactError(err))
	}
	name := a.Name
	if name == "" {
		name = nameOf(resp.Header.Get("Content-Disposition"), u)
	}
	ctype := resp.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ctype); err != nil || mt == "" {
		ctype = http.DetectContentType(b)
	}
	return file{name: name, ctype: ctype, data: b}, nil
}

// nameOf is an attachment's name: Content-Disposition's filename (the
// RFC 5987 filename* included, which mime decodes), else the URL path's
// last part, percent-decoded, else "file".
func nameOf(disposition string, u *url.URL) string {
	if _, params, err := mime.ParseMediaType(disposition); err == nil {
		if n := cleanName(params["filename"]); n != "" {
			return n
		}
	}
	if n := cleanName(path.Base(u.Path)); n != "" && n != "." && n != "/" {
		return n
	}
	return "file"
}

// cleanName keeps a file name's last part without control characters.
func cleanName(n string) string {
	n = strings.ReplaceAll(n, "\\", "/")
	if i := strings.LastIndex(n, "/"); i >= 0 {
		n = n[i+1:]
	}
	n = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, n)
	n = strings.TrimSpace(n)
	if r := []rune(n); len(r) > 200 {
		n = string(r[:200])
	}
	return n
}

func pick(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return cleanName(a)
	}
	return b
}
