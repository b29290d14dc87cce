package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/notify"
)

// SetNotify turns on the bell and the notifications page.
func (u *UI) SetNotify(n *notify.Service) { u.notify = n }

func (u *UI) registerNotify(mux *http.ServeMux) {
	u.handle(mux, "GET /notifications", u.notifications)
	u.handle(mux, "GET /notifications/bell", u.bell)
	u.handle(mux, "POST /notifications/read", u.markRead)
	u.handle(mux, "POST /notifications/prefs", u.savePrefs)
}

type notifRow struct {
	notify.Notification
	At   string
	Href string
}

type notifPage struct {
	Items          []notifRow
	Prefs          notify.Prefs
	HasEmail       bool
	HasTelegram    bool
	UserHasAddress bool
}

// notifications lists the user's notifications, newest first, with the
// channel preferences.
func (u *UI) notifications(w http.ResponseWriter, r *http.Request, rq *request) {
	if u.notify == nil {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	ns, err := u.notify.List(r.Context(), rq.User.ID, 100)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	p, err := u.notify.GetPrefs(r.Context(), rq.User.ID)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	data := notifPage{Prefs: p, UserHasAddress: rq.User.Email != ""}
	data.HasEmail, data.HasTelegram = u.notify.Channels()
	for _, n := range ns {
		data.Items = append(data.Items, notifRow{Notification: n, At: n.CreatedAt.Local().Format("02.01.2006 15:04"), Href: n.Link()})
	}
	u.render(w, r, rq, http.StatusOK, "notifications", rq.T("notif.title"), "notifications", data)
}

// bell is the header's bell with the unread count; htmx asks for it
// every 15 s, so a new lead shows without reloading the page.
func (u *UI) bell(w http.ResponseWriter, r *http.Request, rq *request) {
	if u.notify == nil {
		http.NotFound(w, r)
		return
	}
	n, err := u.notify.Unread(r.Context(), rq.User.ID)
	if err != nil {
		u.log.Warn("web: unread notifications", "err", err)
	}
	u.renderPart(w, r, rq, "bell", bellView{Count: n, Label: rq.T("notif.title")})
}

type bellView struct {
	Count int
	Label string
}

// unread is the count the layout's bell starts with.
func (u *UI) unread(r *http.Request, userID int64) (int, bool) {
	if u.notify == nil || userID == 0 {
		return 0, false
	}
	n, err := u.notify.Unread(r.Context(), userID)
	if err != nil {
		u.log.Warn("web: unread notifications", "err", err)
	}
	return n, true
}

// markRead marks one notification (id) or all read, then opens the
// notification's page (next) or comes back.
func (u *UI) markRead(w http.ResponseWriter, r *http.Request, rq *request) {
	if u.notify == nil {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	id, _ := strconv.ParseInt(r.PostFormValue("id"), 10, 64)
	if err := u.notify.MarkRead(r.Context(), rq.User.ID, id); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	next := r.PostFormValue("next")
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		next = "/notifications"
	}
	back(w, r, next)
}

// savePrefs sets the user's channels.
func (u *UI) savePrefs(w http.ResponseWriter, r *http.Request, rq *request) {
	if u.notify == nil {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	chat := strings.TrimSpace(r.PostFormValue("telegram_chat_id"))
	if chat != "" {
		if _, err := strconv.ParseInt(chat, 10, 64); err != nil {
			u.fail(w, r, rq, http.StatusUnprocessableEntity, rq.T("notif.telegram")+": "+rq.T("notif.bad_chat"))
			return
		}
	}
	p := notify.Prefs{Email: r.PostFormValue("email") == "on", TelegramChatID: chat}
	if err := u.notify.SavePrefs(r.Context(), rq.User.ID, p); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, "/notifications?flash=card.saved")
}
