package web

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"

	"github.com/obmen/obmen/internal/crm"
)

// Social is what the cards of leads, accounts and contacts do with the
// client's VK profile (seed 000): load the newest messages not yet
// stored, and fill the record's empty fields from the profile.
type Social struct {
	ImportHistory func(ctx context.Context, a crm.Actor, ownerType string, ownerID int64) (int, error)
	ImportProfile func(ctx context.Context, a crm.Actor, ownerType string, ownerID int64) ([]string, error)
}

// SetSocial adds the cards' "Загрузить историю из VK" and "Заполнить из
// профиля VK".
func (u *UI) SetSocial(s Social) { u.social = &s }

// userText is a connector's refusal the user can act on (its words are
// already in Russian): no VK page, a new record, VK's error.
type userText interface{ UserText() string }

// socialAction runs one of the card's VK actions on a record the user
// may change, then shows the card with what it did.
func (u *UI) socialAction(w http.ResponseWriter, r *http.Request, rq *request, run func(ctx context.Context, ownerType string, id int64) (string, error)) {
	e, ok := u.entityOf(w, r, rq)
	if !ok {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	if u.social == nil || !slices.Contains(crm.MessageOwnerTypes, e.Name) {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	// The record must be one the user sees (the store's scope says);
	// changing it is the store's check too.
	if _, err := e.get(r.Context(), id); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	flash, err := run(r.Context(), e.Name, id)
	var ut userText
	if errors.As(err, &ut) {
		u.showCard(w, r, rq, e, id, http.StatusUnprocessableEntity, nil, formErrs{"": ut.UserText()})
		return
	}
	if err != nil {
		u.cardRefused(w, r, rq, e, id, err)
		return
	}
	back(w, r, "/e/"+e.Name+"/"+strconv.FormatInt(id, 10)+flash+"#social")
}

// vkHistory is the card's "Загрузить историю из VK".
func (u *UI) vkHistory(w http.ResponseWriter, r *http.Request, rq *request) {
	u.socialAction(w, r, rq, func(ctx context.Context, ownerType string, id int64) (string, error) {
		n, err := u.social.ImportHistory(ctx, rq.Actor(), ownerType, id)
		return "?flash=msg.vk_history_done&n=" + strconv.Itoa(n), err
	})
}

// vkProfile is the card's "Заполнить из профиля VK".
func (u *UI) vkProfile(w http.ResponseWriter, r *http.Request, rq *request) {
	u.socialAction(w, r, rq, func(ctx context.Context, ownerType string, id int64) (string, error) {
		filled, err := u.social.ImportProfile(ctx, rq.Actor(), ownerType, id)
		if len(filled) == 0 {
			return "?flash=msg.vk_profile_nothing", err
		}
		return "?flash=msg.vk_profile_done&n=" + strconv.Itoa(len(filled)), err
	})
}

// MessageFile opens attachment n of a message that its channel keeps
// (Telegram's file_id): the caller closes it.
type MessageFile func(ctx context.Context, m crm.Message, n int) (io.ReadCloser, crm.Attachment, error)

// SetMessageFiles lets the message card download the files clients sent.
func (u *UI) SetMessageFiles(f MessageFile) { u.messageFiles = f }

// msgFile is an attachment on the message card.
type msgFile struct {
	Name string
	Link string
	Size int64
}

// messageFilesOf lists a message's attachments as the card's links.
func messageFilesOf(m crm.Message) []msgFile {
	var out []msgFile
	for i, a := range m.Attachments {
		name := a.Name
		if name == "" {
			name = "file-" + strconv.Itoa(i+1)
		}
		out = append(out, msgFile{Name: name, Size: a.Size, Link: "/e/message/" + strconv.FormatInt(m.ID, 10) + "/files/" + strconv.Itoa(i)})
	}
	return out
}

// messageFile sends attachment n of a message to a user who may see the
// message (the store's scope: its record's access rules). Only the files
// of our messages are served — no address comes from the request: a
// link is redirected to, a file the channel keeps is fetched from it and
// sent as a download (never inline: it came from outside).
func (u *UI) messageFile(w http.ResponseWriter, r *http.Request, rq *request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	n, nerr := strconv.Atoi(r.PathValue("file"))
	if err != nil || nerr != nil || id <= 0 {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	m, err := u.store.GetMessage(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	if n < 0 || n >= len(m.Attachments) {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	a := m.Attachments[n]
	if a.LocalID != 0 {
		// A file a user attached, kept here.
		f, err := u.store.GetMessageFile(r.Context(), a.LocalID)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		if f.MessageID != m.ID {
			u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Length", strconv.FormatInt(int64(len(f.Data)), 10))
		_, _ = w.Write(f.Data)
		return
	}
	if a.FileID == "" {
		// A link (crm.Message.Normalize let only http(s) ones in).
		http.Redirect(w, r, a.URL, http.StatusSeeOther)
		return
	}
	if u.messageFiles == nil {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	rc, _, err := u.messageFiles(r.Context(), m, n)
	if err != nil {
		u.log.Warn("web: message file", "message", id, "file", n, "err", err)
		u.fail(w, r, rq, http.StatusBadGateway, rq.T("msg.file_unavailable"))
		return
	}
	defer rc.Close()
	name := a.Name
	if name == "" {
		name = "file-" + strconv.Itoa(n+1)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = io.Copy(w, rc)
}
