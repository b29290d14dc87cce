package web

import (
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/crm"
)

// The 1C exchange's settings page (admins only): everything
// exchange.Settings holds, with the address and credentials to give 1C.

const mib = 1 << 20

type onecData struct {
	S        exchange.Settings
	Users    []crm.User
	Statuses []crm.Status
	URL      string
	Versions []string
	Error    string
	MiB      map[string]int64
	// Unreachable: the address above is loopback, private or unset, so
	// 1C on another machine cannot reach it (OBMEN_PUBLIC_URL).
	Unreachable bool
}

// unreachableURL reports whether base is an address 1C elsewhere cannot
// reach: none, localhost, a loopback, private or link-local address.
func unreachableURL(base string) bool {
	pu, err := url.Parse(base)
	if err != nil || pu.Hostname() == "" {
		return true
	}
	host := pu.Hostname()
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false // a name: reachable as far as we can tell here
	}
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified()
}

func (u *UI) onecSettings(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.Exchange1C) {
		return
	}
	s, err := exchange.LoadSettings(r.Context(), u.store)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	u.showOnec(w, r, rq, http.StatusOK, s, "")
}

func (u *UI) showOnec(w http.ResponseWriter, r *http.Request, rq *request, status int, s exchange.Settings, errMsg string) {
	us, err := u.store.ListUsers(r.Context())
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	sts, err := u.store.ListStatuses(r.Context(), "ORDER_STATUS")
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	d := onecData{S: s, Users: us, Statuses: sts, URL: u.baseURL + "/1c_exchange.php", Error: errMsg,
		Versions: []string{"2.03", "2.04", "2.05", "2.07", "2.08", "2.09", "2.10"},
		MiB: map[string]int64{"file_limit": s.FileLimit / mib, "max_file": s.MaxFileBytes / mib, "max_unpacked": s.MaxUnpackedBytes / mib,
			"max_session": s.MaxSessionBytes / mib},
		Unreachable: unreachableURL(u.baseURL)}
	u.render(w, r, rq, status, "onec", rq.T("onec.title"), "integrations", d)
}

// saveOnec stores the settings; a field error is shown with the form as
// sent.
func (u *UI) saveOnec(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.Exchange1C) {
		return
	}
	f := r.PostForm
	s, err := exchange.LoadSettings(r.Context(), u.store)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	bad := ""
	num := func(name string, scale int64) int64 {
		v := strings.TrimSpace(f.Get(name))
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			bad = name
			return 0
		}
		return n * scale
	}
	s.Enabled, s.Zip = f.Get("enabled") == "on", f.Get("zip") == "on"
	s.ResponsibleUserID = num("responsible_user_id", 1)
	s.FileLimit, s.MaxFileBytes, s.MaxUnpackedBytes = num("file_limit", mib), num("max_file", mib), num("max_unpacked", mib)
	if strings.TrimSpace(f.Get("max_session")) == "" {
		s.MaxSessionBytes = 0 // as the largest file
	} else {
		s.MaxSessionBytes = num("max_session", mib)
	}
	s.MaxZipRatio, s.StepMillis, s.KeepDays = num("max_zip_ratio", 1), num("step_seconds", 1000), int(num("keep_days", 1))
	s.Version, s.Encoding = f.Get("version"), f.Get("encoding")
	s.StatusMap = map[string]string{}
	for k, vs := range f {
		if st, ok := strings.CutPrefix(k, "status."); ok && strings.TrimSpace(vs[0]) != "" {
			s.StatusMap[st] = strings.TrimSpace(vs[0])
		}
	}
	if bad != "" {
		u.showOnec(w, r, rq, http.StatusUnprocessableEntity, s, rq.T("onec."+bad)+": "+rq.T("onec.not_number"))
		return
	}
	if _, err := exchange.SaveSettings(r.Context(), u.store, rq.Actor(), s); err != nil {
		if fe, ok := crm.AsFieldError(err); ok {
			u.showOnec(w, r, rq, http.StatusUnprocessableEntity, s, rq.T("f."+fe.Field)+": "+fieldMessage(rq, fe))
			return
		}
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, "/admin/1c?flash=card.saved")
}
