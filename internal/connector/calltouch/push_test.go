package calltouch_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/calltouch"
)

var settings = connection.Settings{"site_id": "31415", "token": "ct-token", "timezone": "Europe/Moscow"}

func callParams() url.Values {
	return url.Values{"siteId": {"31415"}, "callId": {"100000"}, "callerphone": {"79250100000"}, "phonenumber": {"74950000000"},
		"calltime": {"2026-12-15 00:00:00"}, "duration": {"61"}, "waitingConnect": {"5"}, "status": {"successful"}, "unique": {"true"},
		"targetcall": {"false"}, "source": {"yandex"}, "medium": {"cpc"}, "keyword": {"диван"},
		"utm_source": {"yandex"}, "utm_medium": {"cpc"}, "utm_campaign": {"sofa"}, "utm_content": {"ad1"}, "utm_term": {"диван купить"},
		"sessionId": {"105000"}, "gcid": {"GA1.2.3.4"}, "yaClientId": {"16000000001"}, "ctClientId": {"77"}, "callTags": {"1,Москва"}}
}

// A pushed call is the polled call: the same key and the same data
// (but the tag groups, which the webhook does not send).
func TestCallPushEqualsPoll(t *testing.T) {
	f := newFake(t)
	f.limit = 0
	f.addCall(100000, day15(t, f, 0, 0), nil)
	c := client(f, calltouch.Deps{})
	calls, err := c.Calls(t.Context(), day15(t, f, 0, 0), day15(t, f, 1, 0))
	if err != nil || len(calls) != 1 {
		t.Fatal(calls, err)
	}
	polled, _, err := calls[0].Data(f.loc)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  *http.Request
	}{
		{"POST form", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/hook/secret", strings.NewReader(callParams().Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}()},
		{"GET query", httptest.NewRequest(http.MethodGet, "/hook/secret?"+callParams().Encode(), nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items, err := calltouch.ParseCallPush(tc.req, settings)
			if err != nil || len(items) != 1 {
				t.Fatal(items, err)
			}
			if items[0].Key != "calltouch:call:100000" {
				t.Fatalf("key %q", items[0].Key)
			}
			pushed := items[0].Data
			delete(pushed, "tag_groups")
			want := map[string]any{}
			for k, v := range polled {
				want[k] = v
			}
			delete(want, "tag_groups")
			if !reflect.DeepEqual(pushed, want) {
				for k := range want {
					if !reflect.DeepEqual(pushed[k], want[k]) {
						t.Errorf("%s: pushed %#v, polled %#v", k, pushed[k], want[k])
					}
				}
				t.FailNow()
			}
		})
	}
}

func TestRequestPushEqualsPoll(t *testing.T) {
	f := newFake(t)
	f.limit = 0
	f.addRequest(7, day15(t, f, 10, 0))
	c := client(f, calltouch.Deps{})
	rs, err := c.Requests(t.Context(), day15(t, f, 9, 0), day15(t, f, 11, 0))
	if err != nil || len(rs) != 1 {
		t.Fatal(rs, err)
	}
	polled, _, _ := rs[0].Data(f.loc)
	v := url.Values{"siteId": {"31415"}, "requestId": {"7"}, "requestNumber": {"site-7"}, "requestDate": {"15/12/2026 10:00:00"},
		"subject": {"Заказать звонок"}, "fio": {"Анна Петрова"}, "phoneNumber": {"79161234567"}, "email": {"anna@example.ru"},
		"sessionId": {"6007"}, "source": {"google"}, "medium": {"organic"}, "utm_source": {"google"}, "utm_medium": {"organic"},
		"gcid": {"GA1.2.5.6"}, "yaClientId": {"16000000002"}, "ctClientId": {"78"}, "requestTags": {"горячий"}}
	r := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	items, err := calltouch.ParseRequestPush(r, settings)
	if err != nil || len(items) != 1 || items[0].Key != "calltouch:request:7" {
		t.Fatal(items, err)
	}
	delete(items[0].Data, "tag_groups")
	delete(polled, "tag_groups")
	if !reflect.DeepEqual(items[0].Data, polled) {
		t.Fatalf("pushed %v\npolled %v", items[0].Data, polled)
	}
}

func TestPushErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(url.Values)
		want string
	}{
		{"no call id", func(v url.Values) { v.Del("callId") }, "callId: required"},
		{"bad call id", func(v url.Values) { v.Set("callId", "12a") }, `callId: "12a" is not a call id`},
		{"no time", func(v url.Values) { v.Del("calltime") }, "call 100000: calltime: required"},
		{"bad time", func(v url.Values) { v.Set("calltime", "вчера") }, `date: calltouch: "вчера" is not a date`},
		{"bad duration", func(v url.Values) { v.Set("duration", "-1") }, `duration: "-1" is not a number of seconds`},
		{"bad flag", func(v url.Values) { v.Set("unique", "maybe") }, `unique: "maybe" is not true or false`},
		{"other site", func(v url.Values) { v.Set("siteId", "27") }, "siteId 27 is not the connection's site 31415"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := callParams()
			tc.set(v)
			_, err := calltouch.CallItems(v, calltouch.AccountOf(settings))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
	r := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(`{"callId": 1}`))
	r.Header.Set("Content-Type", "application/json")
	if _, err := calltouch.ParseCallPush(r, settings); err == nil || !strings.Contains(err.Error(), "URL-encoded") {
		t.Fatalf("json body: %v", err)
	}
	big := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader("a="+strings.Repeat("x", calltouch.MaxPushBody)))
	if _, err := calltouch.ParseCallPush(big, settings); err == nil || !strings.Contains(err.Error(), "over") {
		t.Fatalf("big body: %v", err)
	}
	if _, err := calltouch.RequestItems(url.Values{"requestId": {"5"}}, calltouch.AccountOf(settings)); err == nil ||
		!strings.Contains(err.Error(), "request 5: requestDate: required") {
		t.Fatalf("request without date: %v", err)
	}
}

func TestParseTime(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Moscow")
	want := time.Date(2026, 12, 15, 10, 0, 5, 0, loc)
	for _, s := range []string{"15/12/2026 10:00:05", "2026-12-15 10:00:05", "2026-12-15T07:00:05Z", "2026-12-15T10:00:05+03:00",
		fmt.Sprint(want.Unix()), fmt.Sprint(want.UnixMilli()), "15.12.2026 10:00:05"} {
		got, err := calltouch.ParseTime(s, loc)
		if err != nil || !got.Equal(want) {
			t.Errorf("%q: %v %v", s, got, err)
		}
	}
	for _, s := range []string{"", "12/15/2026 10:00:05", "2026-13-01 00:00:00", "-5"} {
		if _, err := calltouch.ParseTime(s, loc); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"15/12/2026 10:00:05", "2026-12-15 10:00:05", "1765782005", "1765782005000", "2026-12-15T07:00:05Z", "x"} {
		f.Add(s)
	}
	loc, _ := time.LoadLocation("Europe/Moscow")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := calltouch.ParseTime(s, loc)
		if err == nil && got.IsZero() {
			t.Fatalf("%q: zero time without an error", s)
		}
	})
}

func FuzzCallPush(f *testing.F) {
	f.Add(callParams().Encode())
	f.Add("callId=1&calltime=15/12/2026+10:00:00")
	f.Add("callId=1&calltime=1&duration=x")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		items, err := calltouch.ParseCallPush(r, settings)
		if err != nil {
			return
		}
		if len(items) != 1 || !strings.HasPrefix(items[0].Key, "calltouch:call:") || items[0].Data["call_id"] == "" {
			t.Fatalf("%q: %+v", body, items)
		}
		// The same parameters parse to the same item again.
		r2 := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
		r2.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		again, err := calltouch.ParseCallPush(r2, settings)
		if err != nil || !reflect.DeepEqual(again, items) {
			t.Fatalf("%q: not stable: %v", body, err)
		}
	})
}

func FuzzRequestPush(f *testing.F) {
	f.Add("requestId=7&requestDate=15/12/2026+10:00:00&phoneNumber=7916&email=a@b.ru")
	f.Add("requestId=7&requestDate=x")
	f.Fuzz(func(t *testing.T, body string) {
		v, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		items, err := calltouch.RequestItems(v, calltouch.AccountOf(settings))
		if err == nil && (len(items) != 1 || !strings.HasPrefix(items[0].Key, "calltouch:request:")) {
			t.Fatalf("%q: %+v", body, items)
		}
	})
}
