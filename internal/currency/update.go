package currency

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"time"

	"github.com/riverqueue/river"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// Service updates the currencies dictionary from the bank's rates.
type Service struct {
	store  *store.Store
	client *http.Client
	url    string
	log    *slog.Logger
}

// New makes the service; url is the rates document (CBRURL).
func New(s *store.Store, client *http.Client, url string, log *slog.Logger) *Service {
	return &Service{store: s, client: client, url: url, log: log}
}

// Update fetches the rates and sets the rate of every currency of the
// dictionary the bank quotes, relative to the base currency (the bank
// quotes roubles; another base is converted through its own rate). It
// returns the codes updated.
func (s *Service) Update(ctx context.Context) ([]string, error) {
	rates, err := FetchCBR(ctx, s.client, s.url)
	if err != nil {
		return nil, err
	}
	return s.apply(ctx, rates)
}

func (s *Service) apply(ctx context.Context, rates Rates) ([]string, error) {
	cs, err := s.store.ListCurrencies(ctx)
	if err != nil {
		return nil, err
	}
	rub := map[string]*big.Rat{"RUB": big.NewRat(1, 1)}
	for k, v := range rates.Rates {
		rub[k] = v
	}
	var base *big.Rat
	for _, c := range cs {
		if c.Base {
			base = rub[c.Code]
		}
	}
	if base == nil {
		return nil, fmt.Errorf("currency: the base currency is not quoted by the Central Bank")
	}
	var done []string
	for _, c := range cs {
		r, ok := rub[c.Code]
		if c.Base || !ok {
			continue
		}
		rate := RateText(new(big.Rat).Quo(r, base))
		if rate == "0" || rate == c.Rate {
			continue
		}
		c.Rate = rate
		if _, err := s.store.UpsertCurrency(ctx, crm.Actor{Integration: "cbr"}, c); err != nil {
			return done, fmt.Errorf("currency: set the rate of %s: %w", c.Code, err)
		}
		done = append(done, c.Code)
	}
	s.log.Info("currency: CBR rates loaded", "date", rates.Date, "updated", done)
	return done, nil
}

// RatesArgs is the job that loads the rates.
type RatesArgs struct{}

// Kind names the job.
func (RatesArgs) Kind() string { return "currency_cbr_rates" }

type worker struct {
	river.WorkerDefaults[RatesArgs]
	s *Service
}

func (w *worker) Work(ctx context.Context, _ *river.Job[RatesArgs]) error {
	_, err := w.s.Update(ctx)
	return err
}

// Register adds the job's worker.
func (s *Service) Register(w *river.Workers) { river.AddWorker(w, &worker{s: s}) }

// Interval is how often the rates are loaded: the bank publishes once a
// working day; four times a day catches the new rates within hours.
const Interval = 6 * time.Hour

// Periodic schedules the job every Interval, starting when the queue
// starts; a failure waits for the next period.
func Periodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(Interval), func() (river.JobArgs, *river.InsertOpts) {
		return RatesArgs{}, &river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByPeriod: Interval}}
	}, &river.PeriodicJobOpts{RunOnStart: true})
}
