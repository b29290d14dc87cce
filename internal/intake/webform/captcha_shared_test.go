package webform

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// answerOf solves a challenge's sum.
func answerOf(t testing.TB, ch Challenge) string {
	var a, b int
	if _, err := fmt.Sscanf(ch.Question, "Сколько будет %d + %d?", &a, &b); err != nil {
		t.Fatalf("question %q: %v", ch.Question, err)
	}
	return strconv.Itoa(a + b)
}

// An answered token passes once across instances on one database, also
// when the instances get it at the same moment.
func TestCaptchaSpentAcrossInstances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		key := []byte("0123456789abcdef0123456789abcdef")
		inst := make([]*captcha, 3)
		for i := range inst {
			inst[i] = newCaptcha(key, d)
		}
		now := time.Now()
		for round := range 5 {
			ch := inst[0].issue("form1", now)
			ans := answerOf(t, ch)
			var passed atomic.Int64
			var wg sync.WaitGroup
			for i := range 9 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ok, err := inst[i%3].check(ctx, "form1", ch.Token, ans, now)
					if err != nil {
						t.Error(err)
					}
					if ok {
						passed.Add(1)
					}
				}()
			}
			wg.Wait()
			if n := passed.Load(); n != 1 {
				t.Fatalf("round %d: the token passed %d times on 3 instances, want once", round, n)
			}
		}
		// A wrong answer does not spend the token.
		ch := inst[1].issue("form1", now)
		if ok, _ := inst[2].check(ctx, "form1", ch.Token, "9999", now); ok {
			t.Fatal("wrong answer passed")
		}
		if ok, err := inst[0].check(ctx, "form1", ch.Token, answerOf(t, ch), now); !ok || err != nil {
			t.Fatalf("right answer after a wrong one: %v %v", ok, err)
		}
	})
}

// The cost of checking an answer (its nonce spent in the database every
// instance shares), per engine.
func BenchmarkCaptchaCheck(b *testing.B) {
	ctx := context.Background()
	run := func(b *testing.B, c *captcha) {
		now := time.Now()
		type tok struct{ token, ans string }
		toks := make([]tok, b.N)
		for i := range toks {
			ch := c.issue("form1", now)
			toks[i] = tok{ch.Token, answerOf(b, ch)}
		}
		var next atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				t := toks[next.Add(1)-1]
				if ok, err := c.check(ctx, "form1", t.token, t.ans, now); !ok || err != nil {
					b.Errorf("refused: %v", err)
				}
			}
		})
	}
	for _, e := range storetest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) { run(b, newCaptcha(nil, e.Open(b))) })
	}
}
