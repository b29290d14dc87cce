package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// Messenger sends a reply from a record's card into the client's chat
// in channel (crm.Channel*; "" the one the client last wrote in);
// ErrNoChat when no chat is known for the record there.
// The files are kept ones (store.AddMessageFile) the channel sends.
type Messenger func(ctx context.Context, a crm.Actor, ownerType string, ownerID int64, channel, text string, files []crm.Attachment) (crm.Message, error)

// ErrNoChat is a reply to a record without a chat: the client has not
// written to the bot yet.
var ErrNoChat = errors.New("web: the record has no chat")

// SetMessenger lets cards of leads, accounts and contacts reply, in the
// channels named (the reply box offers them when there are several).
func (u *UI) SetMessenger(m Messenger, channels ...string) {
	u.messenger, u.msgChannels = m, channels
}

// sendMessage is the card's reply box: the message is stored and sent;
// what became of it is on the card's "Сообщения" list (delivered, or the
// error in Russian).
func (u *UI) sendMessage(w http.ResponseWriter, r *http.Request, rq *request) {
	e, ok := u.entityOf(w, r, rq)
	if !ok {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	if u.messenger == nil || !slices.Contains(crm.MessageOwnerTypes, e.Name) {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	// The record must be one the user sees (the store's scope says).
	if _, err := e.get(r.Context(), id); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	text := strings.TrimSpace(r.PostFormValue("text"))
	// A channel there is no connector for: refused before any file is kept.
	channel := strings.TrimSpace(r.PostFormValue("channel"))
	if channel != "" && !slices.Contains(u.msgChannels, channel) {
		u.showCard(w, r, rq, e, id, http.StatusUnprocessableEntity, nil, formErrs{"": rq.T("msg.no_channel")})
		return
	}
	// A file from the reply box is kept first; the message names it, and
	// the channel sends it as a document.
	var files []crm.Attachment
	if f, hdr, err := r.FormFile("file"); err == nil {
		data, err := io.ReadAll(io.LimitReader(f, store.MaxMessageFile+1))
		f.Close()
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		if len(data) > 0 {
			a, err := u.store.AddMessageFile(r.Context(), rq.Actor(), hdr.Filename, hdr.Header.Get("Content-Type"), data)
			if errors.Is(err, store.ErrFileRefused) {
				u.showCard(w, r, rq, e, id, http.StatusRequestEntityTooLarge, nil, formErrs{"": rq.T("msg.file_too_large")})
				return
			}
			if err != nil {
				u.failErr(w, r, rq, err)
				return
			}
			files = append(files, a)
		}
	}
	if text == "" && len(files) == 0 {
		u.showCard(w, r, rq, e, id, http.StatusUnprocessableEntity, nil, formErrs{"": rq.T("msg.reply_empty")})
		return
	}
	if _, err := u.messenger(r.Context(), rq.Actor(), e.Name, id, channel, text, files); err != nil {
		if errors.Is(err, ErrNoChat) {
			key := "msg.no_chat"
			if channel != "" {
				key = "msg.no_chat." + channel
			}
			u.showCard(w, r, rq, e, id, http.StatusUnprocessableEntity, nil, formErrs{"": rq.T(key)})
			return
		}
		u.cardRefused(w, r, rq, e, id, err)
		return
	}
	back(w, r, "/e/"+e.Name+"/"+strconv.FormatInt(id, 10)+"#message-reply")
}
