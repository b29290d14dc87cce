package google

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
	calendar "google.golang.org/api/calendar/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	people "google.golang.org/api/people/v1"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
)

// Counts are what a run did on one side.
type Counts struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
	Deleted int `json:"deleted"`
	Skipped int `json:"skipped"`
	Errors  int `json:"errors"`
}

// Side is a run's result for contacts or the calendar: what changed in
// Obmen (from Google) and in Google (from Obmen), and whether the run
// listed everything (a first run, or a sync token Google let expire).
type Side struct {
	Ran      bool   `json:"ran"`
	ToObmen  Counts `json:"to_obmen"`
	ToGoogle Counts `json:"to_google"`
	Full     bool   `json:"full"`
}

// Result is the summary of a run, shown after "Sync now".
type Result struct {
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Contacts   Side      `json:"contacts"`
	Calendar   Side      `json:"calendar"`
	// Errors are the first messages of what failed (a record that would
	// not save, an answer Google refused), each naming the record.
	Errors []string `json:"errors,omitempty"`
}

const maxErrors = 20

func (r *Result) fail(c *Counts, format string, args ...any) {
	c.Errors++
	if len(r.Errors) < maxErrors {
		r.Errors = append(r.Errors, fmt.Sprintf(format, args...))
	}
}

// kind is where the contacts' and the calendar's sides of a run differ
// in the steps they share: the links' kind, the CRM entity and its name
// in the result's messages, the side of the result, and the record's
// mapped view now (its hash tells whether Obmen changed it since).
type kind struct {
	link, entity, what string
	side               func(*Result) *Side
	localHash          func(ctx context.Context, r *run, id int64) (string, error)
}

var (
	contactKind = kind{link: linkContact, entity: store.EntityContact, what: "contact", side: func(r *Result) *Side { return &r.Contacts },
		localHash: func(ctx context.Context, r *run, id int64) (string, error) {
			c, err := r.sv.d.Store.GetContact(ctx, id)
			return hashView(r.contactView(c)), err
		}}
	eventKind = kind{link: linkEvent, entity: store.EntityActivity, what: "activity", side: func(r *Result) *Side { return &r.Calendar },
		localHash: func(ctx context.Context, r *run, id int64) (string, error) {
			a, err := r.sv.d.Store.GetActivity(ctx, id)
			return hashView(r.activityView(a)), err
		}}
)

// remoteGone handles a record's twin deleted in Google (id: the remote
// id): the link goes; Obmen's record is deleted too, unless the sync only
// sends to Google (then Google gets it back) or Obmen wins and changed
// it since (then it goes back as it is).
func (r *run) remoteGone(ctx context.Context, k kind, byRec map[int64]*link, byRemote map[string]*link, id string, push map[int64]bool) {
	l := byRemote[id]
	if l == nil {
		return
	}
	side := k.side(r.res)
	delete(byRemote, id)
	delete(byRec, l.RecordID)
	if err := r.sv.dropLink(ctx, r.s.ID, k.link, l.RecordID); err != nil {
		r.res.fail(&side.ToObmen, "%s %d: %v", k.what, l.RecordID, err)
		return
	}
	if !r.s.Settings.pull() {
		push[l.RecordID] = true // Obmen → Google only: Google gets it back
		return
	}
	h, err := k.localHash(ctx, r, l.RecordID)
	if err != nil {
		return // gone here too
	}
	if r.s.Settings.push() && r.s.Settings.Conflict == ObmenWins && h != l.LocalHash {
		push[l.RecordID] = true // changed in Obmen since: it wins, and goes back
		side.ToObmen.Skipped++
		return
	}
	if err := r.sv.d.Store.Delete(ctx, r.actor, k.entity, l.RecordID); err != nil && !errors.Is(err, store.ErrNotFound) {
		r.res.fail(&side.ToObmen, "%s %d: delete: %v", k.what, l.RecordID, err)
		return
	}
	side.ToObmen.Deleted++
}

// pages reads every page of a Google list: call fetches the one after
// page ("" the first) and returns its items, the next page's token and,
// on the last page, the sync token.
func pages[T any](call func(page string) (items []T, next, sync string, err error)) ([]T, string, error) {
	var out []T
	page := ""
	for {
		items, next, sync, err := call(page)
		if err != nil {
			return nil, "", err
		}
		out = append(out, items...)
		if next == "" {
			return out, sync, nil
		}
		page = next
	}
}

// run is one run's state.
type run struct {
	sv     *Service
	s      *Sync
	res    *Result
	people *people.Service
	cal    *calendar.Service
	actor  crm.Actor
	// upTo is the last change event at the start: the cursors move to it.
	upTo int64
	// unpaired are the calendar activities paired with no event, by
	// title and start.
	unpaired map[string]int64
}

// httpClient is the APIs' client: the guarded transport under retries
// under the OAuth token.
func (sv *Service) httpClient(src oauth2.TokenSource) *http.Client {
	base := sv.d.HTTP.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	return &http.Client{
		Transport:     &oauth2.Transport{Source: src, Base: &retryTransport{base: base, backoff: sv.d.Backoff, maxWait: sv.d.MaxWait}},
		CheckRedirect: sv.d.HTTP.CheckRedirect,
		Timeout:       sv.d.HTTP.Timeout,
	}
}

// ErrBusy is a run asked for while another runs the same sync.
var ErrBusy = errors.New("google: the sync is already running")

// Run syncs a user's contacts and calendar now and returns the summary,
// also kept as the sync's last result. One run per user at a time,
// across instances.
func (sv *Service) Run(ctx context.Context, userID int64) (Result, error) {
	release, ok, err := sv.d.DB.TryLockKey(ctx, fmt.Sprintf("google-sync:%d", userID))
	if err != nil {
		return Result{}, fmt.Errorf("google: lock the sync of user %d: %w", userID, err)
	}
	if !ok {
		return Result{}, ErrBusy
	}
	defer release()
	s, err := sv.Get(ctx, userID)
	if err != nil {
		return Result{}, err
	}
	src, err := sv.tokenSource(ctx, s)
	if err != nil {
		return Result{}, err
	}
	hc := sv.httpClient(src)
	e := sv.d.endpoints()
	r := &run{sv: sv, s: &s, res: &Result{StartedAt: sv.d.now().UTC()}, actor: crm.Actor{UserID: userID, Integration: Integration}}
	if r.people, err = people.NewService(ctx, option.WithHTTPClient(hc), option.WithEndpoint(e.People)); err != nil {
		return Result{}, fmt.Errorf("google: people client: %w", err)
	}
	if r.cal, err = calendar.NewService(ctx, option.WithHTTPClient(hc), option.WithEndpoint(e.Calendar)); err != nil {
		return Result{}, fmt.Errorf("google: calendar client: %w", err)
	}
	if err := sv.d.DB.Reader().QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM events").Scan(&r.upTo); err != nil {
		return Result{}, fmt.Errorf("google: read the change log: %w", err)
	}
	var runErr error
	if s.Settings.Contacts {
		r.res.Contacts.Ran = true
		if err := r.contacts(ctx); err != nil {
			runErr = err
		}
	}
	if s.Settings.Calendar && runErr == nil {
		r.res.Calendar.Ran = true
		if err := r.calendar(ctx); err != nil {
			runErr = err
		}
	}
	r.res.FinishedAt = sv.d.now().UTC()
	if runErr != nil {
		r.res.Errors = append(r.res.Errors, runErr.Error())
	}
	if err := sv.saveState(ctx, s, *r.res); err != nil {
		return *r.res, err
	}
	return *r.res, runErr
}

// hashView hashes the mapped fields of a record as one side has them.
func hashView(v map[string]any) string {
	b, _ := json.Marshal(v) // maps marshal with sorted keys
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}

// changed reads the ids of records of entity changed after the cursor,
// leaving out the sync's own changes.
func (r *run) changed(ctx context.Context, entity string, after int64) (map[int64]bool, error) {
	ids := map[int64]bool{}
	for {
		evs, err := events.Read(ctx, r.sv.d.DB.Reader(), events.Query{After: after, Before: r.upTo + 1, Entity: entity,
			ExcludeIntegration: Integration, Limit: 5000, Raw: true})
		if err != nil {
			return nil, fmt.Errorf("google: %w", err)
		}
		for _, ev := range evs {
			ids[ev.RecordID] = true
			after = ev.ID
		}
		if len(evs) < 5000 {
			return ids, nil
		}
	}
}

// apiStatus is the HTTP status of a Google API error (0: not one).
func apiStatus(err error) int {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return 0
}

// expiredPeopleToken: People answers an expired sync token with 400
// FAILED_PRECONDITION "Sync token is expired. Clear local cache and retry
// call without the sync token." (reason EXPIRED_SYNC_TOKEN).
func expiredPeopleToken(err error) bool {
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != http.StatusBadRequest {
		return false
	}
	b := strings.ToLower(ge.Message + " " + ge.Body)
	return strings.Contains(b, "sync token") || strings.Contains(b, "expired_sync_token")
}
